"""Writers and publishers at the same time: every event gets exactly one position, and every checkpoint is honest."""

import threading

import pytest
from django.core.management import call_command

from consent.models import ConsentEvent
from tests.conftest import make_client
from tests.threads import run_in_parallel
from transparency_log.checkpoints import checkpoint_publish
from transparency_log.models import LogLeaf, PendingLeaf, SignedCheckpoint

from .conftest import consent_changes

pytestmark = pytest.mark.django_db(transaction=True)


def test_events_written_while_checkpoints_are_published_each_get_one_position(capsys):
    clients = [make_client(f"writer{number}@example.com") for number in range(4)]
    writing = threading.Event()
    writing.set()

    def writer(client):
        def job():
            consent_changes(client, 25)
        return job

    def publisher():
        while writing.is_set():
            checkpoint_publish()

    def writers_then_stop():
        run_in_parallel([writer(client) for client in clients])
        writing.clear()

    run_in_parallel([writers_then_stop, publisher, publisher], together=False, timeout=120)
    checkpoint_publish()
    events = set(ConsentEvent.objects.values_list("pk", flat=True))
    leaves = list(LogLeaf.objects.order_by("index").values_list("index", "event_id"))
    assert [index for index, _ in leaves] == list(range(len(events)))
    assert {event_id for _, event_id in leaves} == events and not PendingLeaf.objects.exists()
    assert SignedCheckpoint.objects.latest().tree_size == len(events)
    call_command("verify_log")  # every checkpoint published in the race verifies and is consistent with the next
    assert f"Consent log intact: {len(events)} leaves" in capsys.readouterr().out


def test_two_publishers_at_once_publish_a_size_once():
    client = make_client()
    consent_changes(client, 6)
    results = []
    run_in_parallel([lambda: results.append(checkpoint_publish()) for _ in range(4)])
    published = [checkpoint for checkpoint in results if checkpoint is not None]
    assert len(published) == 1 and SignedCheckpoint.objects.count() == 1
