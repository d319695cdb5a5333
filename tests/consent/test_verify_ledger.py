import pytest
from django.core.management import call_command
from django.db import connection

from consent.models import Channel, ConsentAction, ConsentEvent, Purpose
from consent.services import consent_record
from tests.conftest import make_client

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
