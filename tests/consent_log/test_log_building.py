"""Every ledger event becomes a leaf of the one public tree, and a checkpoint signs what the tree holds."""

import base64

import pytest
from django.core.management import call_command

from consent.models import ConsentEvent
from tools.verify_receipt import NoteVerifier, leaf_hash, open_note, parse_checkpoint, verify_consistency, verify_inclusion
from transparency_log.checkpoints import checkpoint_publish, log_signer
from transparency_log.models import LogLeaf, PendingLeaf, SignedCheckpoint
from transparency_log.tree import consistency_proof, inclusion_proof, log_sequence, tree_root

from .conftest import consent_changes

pytestmark = pytest.mark.django_db


def test_every_event_is_queued_for_the_log_in_its_own_transaction(two_clients):
    events = consent_changes(two_clients[0], 3)
    pending = set(PendingLeaf.objects.values_list("event_id", flat=True))
    assert {event.pk for event in events} <= pending
    assert pending == set(ConsentEvent.objects.values_list("pk", flat=True))  # sign-up defaults included


def test_sequencing_gives_each_event_one_position_in_ledger_order(two_clients):
    consent_changes(two_clients[0], 3)
    consent_changes(two_clients[1], 2)
    size = log_sequence()
    leaves = list(LogLeaf.objects.order_by("index").values_list("index", "event_id"))
    assert size == ConsentEvent.objects.count() == len(leaves)
    assert [index for index, _ in leaves] == list(range(size))
    assert [event_id for _, event_id in leaves] == sorted(ConsentEvent.objects.values_list("pk", flat=True))
    assert not PendingLeaf.objects.exists()
    assert log_sequence() == size  # nothing appended twice


def test_a_checkpoint_is_a_signed_note_of_the_trees_size_and_root(two_clients, settings):
    consent_changes(two_clients[0], 4)
    checkpoint = checkpoint_publish()
    verifier = NoteVerifier.from_vkey(log_signer().vkey)
    body = parse_checkpoint(open_note(checkpoint.note, verifier))
    assert (body.origin, body.size) == (settings.LOG_ORIGIN, ConsentEvent.objects.count())
    assert body.root_hash == tree_root(body.size) == bytes(checkpoint.root_hash)
    assert checkpoint.note.startswith(f"{settings.LOG_ORIGIN}\n{body.size}\n{base64.b64encode(body.root_hash).decode()}\n\n")
    assert "\n\u2014 tests.fulfillmen.example/consent-log " in checkpoint.note


def test_no_checkpoint_when_the_tree_did_not_grow(two_clients):
    consent_changes(two_clients[0], 2)
    first = checkpoint_publish()
    assert checkpoint_publish() is None
    consent_changes(two_clients[0], 1)
    second = checkpoint_publish()
    assert second.tree_size == first.tree_size + 1
    assert list(SignedCheckpoint.objects.values_list("tree_size", flat=True)) == [first.tree_size, second.tree_size]


def test_the_command_publishes_at_once(two_clients, capsys):
    consent_changes(two_clients[0], 2)
    call_command("publish_checkpoint")
    size = ConsentEvent.objects.count()
    assert f"Published checkpoint {size}:" in capsys.readouterr().out
    call_command("publish_checkpoint")
    assert f"Nothing new to publish: the latest checkpoint already covers all {size} events." in capsys.readouterr().out


def test_every_checkpoint_is_copied_to_the_witness_file(two_clients, consent_log_witness_file):
    import json

    consent_changes(two_clients[0], 2)
    first = checkpoint_publish()
    consent_changes(two_clients[0], 1)
    second = checkpoint_publish()
    copies = [json.loads(line) for line in consent_log_witness_file.read_text().splitlines()]
    assert [(c["tree_size"], c["note"]) for c in copies] == [(first.tree_size, first.note), (second.tree_size, second.note)]


def test_inclusion_and_consistency_proofs_of_a_log_of_many_sizes_verify(two_clients):
    clients = list(two_clients)
    roots = {}
    for round_number in range(12):
        consent_changes(clients[round_number % 2], round_number % 3 + 1)
        size = log_sequence()
        roots[size] = tree_root(size)
    leaves = [leaf_hash(bytes.fromhex(h)) for h in
              LogLeaf.objects.order_by("index").values_list("event__entry_hash", flat=True)]
    for size, root in roots.items():
        for index in range(size):
            stored_leaf, proof = inclusion_proof(index, size)
            assert stored_leaf == leaves[index]
            verify_inclusion(index, size, leaves[index], proof, root)
        for old_size, old_root in roots.items():
            if old_size <= size:
                verify_consistency(old_size, size, consistency_proof(old_size, size), old_root, root)


@pytest.mark.parametrize("statement", [
    "DELETE FROM transparency_log_pendingleaf",
    "DELETE FROM transparency_log_loghead",
    "UPDATE transparency_log_loghead SET id = 2",
    "UPDATE transparency_log_pendingleaf SET event_id = event_id",
    "UPDATE transparency_log_loghead SET size = 0",
    "DELETE FROM transparency_log_logleaf",
    "UPDATE transparency_log_lognode SET hash = ''",
    "DELETE FROM transparency_log_signedcheckpoint",
])
def test_the_database_refuses_to_shrink_the_log_or_drop_an_event_from_its_queue(two_clients, statement):
    from django.db import DatabaseError, connection, transaction

    consent_changes(two_clients[0], 3)
    checkpoint_publish()
    consent_changes(two_clients[0], 1)  # one event still queued
    with pytest.raises(DatabaseError, match="refused"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
