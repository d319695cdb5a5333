"""The definition of done: a 10,000-event log built through the services, every event's inclusion proof and the
consistency proof of every pair of published checkpoints verified by the standalone verifier's code."""

import itertools

import pytest

from accounts.demo import synthetic_clients_create
from consent.bulk import consent_defaults_bulk_record
from consent.models import Channel, ConsentAction, ConsentEvent, Purpose
from consent.services import consent_record
from tests.conftest import make_client
from tools.verify_receipt import leaf_hash, verify_consistency, verify_inclusion
from transparency_log.checkpoints import checkpoint_publish
from transparency_log.models import LogLeaf, SignedCheckpoint
from transparency_log.tree import consistency_proof, inclusion_proof

pytestmark = pytest.mark.django_db

EVENTS = 10_000


def test_every_event_of_a_ten_thousand_event_log_and_every_published_pair_verify():
    # Sign-up defaults of 3,000 clients in bulk (as the demo seed and data migrations write them), then changes of mind
    # one by one (as the portal, letters and the API write them), checkpoints published along the way.
    synthetic_clients_create(count=3_000, seed=17, on_batch=lambda made: consent_defaults_bulk_record(clients=made))
    assert ConsentEvent.objects.count() >= 6_000
    checkpoint_publish()
    purposes = list(Purpose.objects.filter(withdrawable=True, legal_basis="consent"))
    clients = [make_client(f"c{number}@example.com") for number in range(40)]
    actions = itertools.cycle([ConsentAction.WITHDRAW, ConsentAction.GRANT])
    pairs = itertools.cycle(itertools.product(clients, purposes))
    while ConsentEvent.objects.count() < EVENTS:
        for client, purpose in itertools.islice(pairs, 400):
            consent_record(client=client, purpose=purpose, action=next(actions), channel=Channel.LETTER,
                           reason="letter received")
        checkpoint_publish()
    checkpoints = list(SignedCheckpoint.objects.order_by("tree_size"))
    assert checkpoints[-1].tree_size >= EVENTS and len(checkpoints) >= 10

    leaves = [leaf_hash(bytes.fromhex(h)) for h in LogLeaf.objects.order_by("index").values_list("event__entry_hash", flat=True)]
    latest = checkpoints[-1]
    for index, leaf in enumerate(leaves):
        _stored, proof = inclusion_proof(index, latest.tree_size)
        verify_inclusion(index, latest.tree_size, leaf, proof, bytes(latest.root_hash))
    for old, new in itertools.combinations(checkpoints, 2):
        verify_consistency(old.tree_size, new.tree_size, consistency_proof(old.tree_size, new.tree_size),
                           bytes(old.root_hash), bytes(new.root_hash))
