"""Real parallel transactions on PostgreSQL: each thread has its own database connection."""

import pytest
from django.core.management import call_command

from accounts.services import staff_user_ensure
from consent.models import Channel, ConsentAction, ConsentEvent, ConsentState, Purpose
from consent.services import Evidence, consent_record
from tests.conftest import PASSWORD, make_client
from tests.threads import run_in_parallel

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_simultaneous_withdrawals_for_one_client_both_land_in_order(capsys):
    client = make_client("ca@example.com", country="US", region="US-CA", phone="+14155552671")
    purposes = list(Purpose.objects.filter(code__in=["promotional-sharing", "marketing-messages"]))
    run_in_parallel([
        lambda p=p: consent_record(client=client, purpose=p, action=ConsentAction.WITHDRAW, channel=Channel.PORTAL)
        for p in purposes
    ])
    events = list(ConsentEvent.objects.filter(client=client).order_by("sequence"))
    assert [e.sequence for e in events] == [1, 2, 3, 4]
    assert {e.purpose.code for e in events[2:]} == {"promotional-sharing", "marketing-messages"}
    assert not ConsentState.objects.filter(client=client, granted=True).exists()
    call_command("verify_ledger")
    assert "Ledger intact" in capsys.readouterr().out


def test_eight_concurrent_letters_for_one_purpose_all_land_and_the_state_is_the_last(capsys):
    client = make_client("ca@example.com", country="US", region="US-CA", phone="+14155552671")
    staff = staff_user_ensure(email="support@example.com", password=PASSWORD, groups=["Support agents"])
    promo = Purpose.objects.get(code="promotional-sharing")
    actions = [ConsentAction.WITHDRAW, ConsentAction.GRANT] * 4
    run_in_parallel([
        lambda a=a, n=n: consent_record(client=client, purpose=promo, action=a, channel=Channel.LETTER, recorded_by=staff,
                                        evidence=Evidence(reference=f"letter {n}"))
        for n, a in enumerate(actions)
    ])
    events = list(ConsentEvent.objects.filter(client=client, purpose=promo).order_by("sequence"))
    assert len(events) == 1 + 8
    sequences = list(ConsentEvent.objects.filter(client=client).order_by("sequence").values_list("sequence", flat=True))
    assert sequences == list(range(1, 11))
    state = ConsentState.objects.get(client=client, purpose=promo)
    assert state.last_event == events[-1]
    assert state.granted == (events[-1].action == ConsentAction.GRANT)
    call_command("verify_ledger")
    assert "Ledger intact: 10 events" in capsys.readouterr().out


def test_writes_for_different_clients_do_not_wait_for_each_other():
    clients = [make_client(f"c{n}@example.com", country="US", region="US-CA", phone="") for n in range(4)]
    promo = Purpose.objects.get(code="promotional-sharing")
    run_in_parallel([
        lambda c=c: consent_record(client=c, purpose=promo, action=ConsentAction.WITHDRAW, channel=Channel.PORTAL)
        for c in clients
    ])
    assert ConsentState.objects.filter(purpose=promo, granted=False).count() == 4
