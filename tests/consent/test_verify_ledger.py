import itertools
import threading

import pytest
from django.core.management import call_command
from django.db import connection, connections

from accounts.demo import synthetic_clients_create
from consent import verification
from consent.bulk import consent_defaults_bulk_record
from consent.models import Channel, ConsentAction, ConsentChain, ConsentEvent, ConsentState, Purpose
from consent.services import consent_record
from consent.verification import ledger_verify
from tests.conftest import make_client
from tests.memory import peak_bytes

pytestmark = pytest.mark.django_db


def verify(capsys):
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_ledger")
    return exit_info.value.code, capsys.readouterr()


@pytest.fixture
def history():
    client = make_client("ca@example.com", country="US", region="US-CA", phone="+14155552671")
    promo = Purpose.objects.get(code="promotional-sharing")
    for action in [ConsentAction.WITHDRAW, ConsentAction.GRANT, ConsentAction.WITHDRAW]:
        consent_record(client=client, purpose=promo, action=action, channel=Channel.PORTAL, ip_address="198.51.100.4",
                       user_agent="Firefox")
    make_client("other@example.com", country="DE")
    return client


def tamper(sql, params):
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE consent_consentevent DISABLE TRIGGER consent_event_append_only")
        cursor.execute("ALTER TABLE consent_consenteventpersonaldata DISABLE TRIGGER consent_event_personal_no_update")
        cursor.execute(sql, params)
        cursor.execute("ALTER TABLE consent_consentevent ENABLE TRIGGER consent_event_append_only")
        cursor.execute("ALTER TABLE consent_consenteventpersonaldata ENABLE TRIGGER consent_event_personal_no_update")


def test_intact_ledger_verifies(history, capsys):
    call_command("verify_ledger")
    assert "Ledger intact: 7 events in 2 chains verified." in capsys.readouterr().out


def test_an_action_flipped_behind_the_triggers_back_is_named(history, capsys):
    event = ConsentEvent.objects.get(client=history, sequence=4)
    assert event.action == ConsentAction.GRANT
    tamper("UPDATE consent_consentevent SET action = 'withdraw' WHERE id = %s", [event.pk])
    code, output = verify(capsys)
    assert code == 1
    assert f"client {history.public_id} event #4 (id {event.pk}): its content no longer matches its hash" in output.err


def test_an_altered_ip_address_is_named(history, capsys):
    event = ConsentEvent.objects.get(client=history, sequence=4)
    tamper("UPDATE consent_consenteventpersonaldata SET ip_address = '203.0.113.66' WHERE event_id = %s", [event.pk])
    code, output = verify(capsys)
    assert code == 1 and f"event #4 (id {event.pk}): its IP, user agent, reason or evidence were altered" in output.err


def test_a_deleted_event_breaks_the_chain(history, capsys):
    event = ConsentEvent.objects.get(client=history, sequence=3)
    tamper("DELETE FROM consent_consenteventpersonaldata WHERE event_id = %s", [event.pk])
    with connection.cursor() as cursor:  # its place in the public log's queue, behind that table's trigger too
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("DELETE FROM transparency_log_pendingleaf WHERE event_id = %s", [event.pk])
        cursor.execute("SET LOCAL session_replication_role = origin")
    tamper("DELETE FROM consent_consentevent WHERE id = %s", [event.pk])
    code, output = verify(capsys)
    assert code == 1 and "event #4" in output.err and "an event is missing" in output.err


def test_a_rehashed_forgery_is_caught_at_the_next_link(history, capsys):
    event = ConsentEvent.objects.get(client=history, sequence=3)
    tamper("UPDATE consent_consentevent SET entry_hash = decode(%s, 'hex') WHERE id = %s", ["f" * 64, event.pk])
    code, output = verify(capsys)
    assert code == 1 and "event #4" in output.err and "does not link to the previous event" in output.err


def test_erased_personal_values_leave_the_chain_verifiable(history, capsys):
    """Erasure (a later issue) deletes the personal values beside the events; every hash still checks."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM consent_consenteventpersonaldata WHERE event_id IN "
                       "(SELECT id FROM consent_consentevent WHERE client_id = %s)", [history.pk])
    call_command("verify_ledger")
    assert "Ledger intact" in capsys.readouterr().out


# The chain heads and the current states are read alongside the events, in client order (issue #20: constant
# memory). Each kind of mismatch is named, for a client between two intact ones.

@pytest.fixture
def three(history):
    """Three clients in id order, each with a chain; the middle one is the one tampered with."""
    middle = make_client("middle@example.com")
    last = make_client("last@example.com")
    return history, middle, last


def behind_triggers(sql, params):
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        cursor.execute("SET LOCAL session_replication_role = origin")


def only_problems(capsys, *expected):
    code, output = verify(capsys)
    problems = [line for line in output.err.splitlines() if not line.startswith("Ledger NOT intact")]
    assert code == 1 and problems == list(expected), output.err


def test_a_chain_head_that_disagrees_with_the_last_event_is_named(three, capsys):
    _, middle, _ = three
    length = ConsentChain.objects.get(client=middle).length
    behind_triggers("UPDATE consent_consentchain SET length = length + 1 WHERE client_id = %s", [middle.pk])
    only_problems(capsys,
                  f"client {middle.public_id}: chain head (length {length + 1}) does not match the last event (#{length})")


def test_a_missing_chain_head_is_named(three, capsys):
    _, middle, _ = three
    length = ConsentChain.objects.get(client=middle).length
    behind_triggers("DELETE FROM consent_consentchain WHERE client_id = %s", [middle.pk])
    only_problems(capsys, f"client {middle.public_id}: {length} events but no chain head")


def test_a_chain_head_for_a_client_without_events_is_named(three, capsys):
    first, middle, last = three
    behind_triggers("UPDATE consent_consentchain SET client_id = %s WHERE client_id = %s", [last.pk + 1000, last.pk])
    length = ConsentEvent.objects.filter(client=last).count()
    only_problems(capsys, f"client {last.public_id}: {length} events but no chain head",
                  f"client id {last.pk + 1000}: chain head says {length} events, the ledger has none")


def test_a_flipped_current_state_is_named(three, capsys):
    _, middle, _ = three
    promo = Purpose.objects.get(code="promotional-sharing")
    behind_triggers("UPDATE consent_consentstate SET granted = NOT granted WHERE client_id = %s AND purpose_id = %s",
                    [middle.pk, promo.pk])
    only_problems(capsys, f"client {middle.public_id}: current state of purpose {promo.pk} is not the last event's outcome")


def test_a_missing_current_state_is_named(three, capsys):
    _, middle, _ = three
    promo = Purpose.objects.get(code="promotional-sharing")
    behind_triggers("DELETE FROM consent_consentstate WHERE client_id = %s AND purpose_id = %s", [middle.pk, promo.pk])
    only_problems(capsys, f"client id {middle.pk}: events for purpose {promo.pk} but no current state")


def test_a_current_state_for_a_purpose_without_events_is_named(three, capsys):
    _, middle, _ = three
    state = ConsentState.objects.filter(client=middle).order_by("purpose_id").first()
    unused = Purpose.objects.exclude(pk__in=ConsentEvent.objects.filter(client=middle).values("purpose_id")).first()
    behind_triggers("UPDATE consent_consentstate SET purpose_id = %s WHERE id = %s", [unused.pk, state.pk])
    only_problems(capsys, f"client {middle.public_id}: current state of purpose {unused.pk} is not the last event's outcome",
                  f"client id {middle.pk}: events for purpose {state.purpose_id} but no current state")


@pytest.mark.django_db(transaction=True)
def test_a_ledger_written_to_while_it_is_verified_is_intact_not_reported_tampered():
    """verify_ledger reads events, heads and states in one snapshot: a write landing between the reads of the three
    tables (a head one event ahead of the events read) is no false alarm."""
    clients = [make_client(f"live{n}@example.com") for n in range(30)]
    promo = Purpose.objects.get(code="promotional-sharing")
    stop, errors = threading.Event(), []

    def writer():
        try:
            actions = itertools.cycle([ConsentAction.WITHDRAW, ConsentAction.GRANT])
            while not stop.is_set():
                for client in clients:
                    consent_record(client=client, purpose=promo, action=next(actions), channel=Channel.PORTAL)
        except Exception as error:  # noqa: BLE001 — reported below
            errors.append(error)
        finally:
            connections.close_all()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        reports = [ledger_verify() for _ in range(8)]
    finally:
        stop.set()
        thread.join(timeout=60)
    assert errors == []
    assert all(report.intact for report in reports), [report.problems[:3] for report in reports]
    assert len({report.events for report in reports}) > 1  # the writer did write while the ledger was read


def test_verifying_a_ledger_three_times_as_long_takes_no_more_memory(monkeypatch):
    monkeypatch.setattr(verification, "CHUNK", 500)  # full chunks of all three cursors at both lengths
    synthetic_clients_create(count=3_000, seed=3, on_batch=lambda made: consent_defaults_bulk_record(clients=made))
    short = peak_bytes(ledger_verify)
    synthetic_clients_create(count=6_000, seed=4, on_batch=lambda made: consent_defaults_bulk_record(clients=made))
    report = ledger_verify()
    long = peak_bytes(ledger_verify)
    assert report.intact and report.chains >= 9_000
    # Holding an entry per chain and per (client, purpose), as before, grew by ~0.7 kB a client: ~4 MB here.
    assert long - short < 256 * 1024, (short, long)
