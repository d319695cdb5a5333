"""The ledger's write path on PostgreSQL: two statements per change (lock, then write), what they read on
the way (the state, the policy in force) and that they keep every rule of `consent_record`."""

import threading
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from amendments.models import PolicyVersion
from amendments.selectors import POLICY_IN_FORCE_SQL, policy_in_force
from consent.models import POLICY_ACCEPTANCE, Channel, ConsentAction, ConsentEvent, ConsentState, Purpose
from consent.services import _policy_at, consent_record
from sharing.models import WithdrawalNotice
from sharing.services import sharing_records_write
from tests.conftest import make_client
from tests.sharing.conftest import make_affiliate


def promo():
    return Purpose.objects.get(code="promotional-sharing")


def version(label, *, effective_in_days, published=True):
    now = timezone.now()
    return PolicyVersion.objects.create(label=label, body_en=label, effective_at=now + timedelta(days=effective_in_days),
                                        published_at=now - timedelta(days=90) if published else None)


def ledger_statements(queries):
    return [q["sql"] for q in queries if q["sql"] not in ("BEGIN", "COMMIT")]


@pytest.mark.django_db(transaction=True)  # no test transaction around: no savepoints in the count
def test_a_change_costs_two_statements_a_withdrawal_four_and_a_repeat_two(django_assert_max_num_queries):
    """BEGIN and COMMIT, which Django's query log also counts, come on top."""
    client = make_client("ca@example.com", country="US", region="US-CA", phone="+14155552671")
    purpose = promo()
    # lock, the per-recipient consents still granted (locked after the chain, so none is missed), write, notices
    with django_assert_max_num_queries(2 + 4) as queries:
        _event, created = consent_record(client=client, purpose=purpose, action=ConsentAction.WITHDRAW, channel=Channel.PORTAL)
    assert created
    lock = ledger_statements(queries)[0]  # the log shows the SQL: the first statement locks the chain
    assert "FROM consent_consentchain" in lock and "FOR UPDATE" in lock
    with django_assert_max_num_queries(2 + 2):  # lock, write (a grant tells no affiliate anything)
        event, created = consent_record(client=client, purpose=purpose, action=ConsentAction.GRANT, channel=Channel.PORTAL)
    assert created
    with django_assert_max_num_queries(2 + 2):  # lock, the last event to return
        again, created = consent_record(client=client, purpose=purpose, action=ConsentAction.GRANT, channel=Channel.PORTAL)
    assert not created and again == event


@pytest.mark.django_db
def test_the_returned_event_is_the_stored_one_with_its_personal_values_and_policy():
    current = version("3.0", effective_in_days=-5)
    client = make_client("ca@example.com", country="US", region="US-CA", phone="+14155552671")
    event, _created = consent_record(client=client, purpose=promo(), action=ConsentAction.WITHDRAW, channel=Channel.PORTAL,
                                     ip_address="198.51.100.4", user_agent="Firefox", reason="no more ads")
    stored = ConsentEvent.objects.select_related("personal").get(pk=event.pk)
    for field in ["receipt_id", "sequence", "action", "channel", "policy_version_id", "occurred_at", "recorded_at",
                  "personal_digest", "previous_hash", "entry_hash"]:
        assert getattr(event, field) == getattr(stored, field), field
    assert event.policy_version == current and event.policy_version.body_en == "3.0"
    assert (event.personal.ip_address, event.personal.reason) == ("198.51.100.4", "no more ads")
    assert (stored.personal.ip_address, stored.personal.user_agent, stored.personal.reason) == ("198.51.100.4", "Firefox",
                                                                                               "no more ads")
    state = ConsentState.objects.get(client=client, purpose=promo())
    assert state.last_event_id == event.pk and state.granted is False and state.changed_at == event.occurred_at


@pytest.mark.django_db
def test_the_policy_sql_names_the_same_version_as_policy_in_force():
    now = timezone.now()

    def by_sql(at):
        with connection.cursor() as cursor:
            cursor.execute(POLICY_IN_FORCE_SQL, {"at": at})
            return cursor.fetchone()

    assert by_sql(now) == (None, None, None)
    old, tied_a, tied_b = version("1.0", effective_in_days=-60), version("2.0", effective_in_days=-10), None
    tied_b = PolicyVersion.objects.create(label="2.1", body_en="2.1", effective_at=tied_a.effective_at,
                                          published_at=tied_a.published_at)
    future = version("4.0", effective_in_days=20)
    version("5.0", effective_in_days=-1, published=False)  # a draft never counts
    for at in [now - timedelta(days=30), now, future.effective_at, now + timedelta(days=30)]:
        expected = policy_in_force(at=at)
        later = [v.effective_at for v in (old, tied_a, future) if v.effective_at > at]
        assert by_sql(at) == (expected.pk, expected.label, min(later) if later else None)
    assert policy_in_force(at=now) == tied_b  # same effective date: the later id wins, in both


@pytest.mark.django_db
def test_a_version_taking_effect_while_the_write_waited_is_the_one_recorded():
    old, new = version("1.0", effective_in_days=-60), version("2.0", effective_in_days=1)
    assert _policy_at((old.pk, old.label, new.effective_at), now=new.effective_at - timedelta(microseconds=1)) == old
    assert _policy_at((old.pk, old.label, new.effective_at), now=new.effective_at) == new
    assert _policy_at((None, None, None), now=timezone.now()) is None


@pytest.mark.django_db
def test_a_withdrawal_notifies_each_affiliate_that_received_the_client_once():
    client = make_client("ca@example.com", country="US", region="US-CA", phone="+14155552671")
    ads, other = make_affiliate("Ads Network"), make_affiliate("Other Network")
    for affiliate in (ads, ads, other):
        sharing_records_write(affiliate=affiliate, purpose=promo(), fields=["email"], client_ids=[client.pk], api_key=None,
                              request_id=uuid.uuid4(), at=timezone.now())
    event, _created = consent_record(client=client, purpose=promo(), action=ConsentAction.WITHDRAW, channel=Channel.GPC)
    notices = WithdrawalNotice.objects.filter(client=client, purpose=promo())
    assert sorted(n.affiliate_id for n in notices) == sorted([ads.pk, other.pk])
    assert {(n.reason, n.occurred_at, tuple(n.fields)) for n in notices} == {("gpc", event.recorded_at, ())}
    assert len({n.public_id for n in notices}) == 2


@pytest.mark.django_db
def test_a_write_after_a_rolled_back_one_on_the_same_connection_still_works():
    client = make_client("ca@example.com", country="US", region="US-CA", phone="+14155552671")
    with transaction.atomic():
        consent_record(client=client, purpose=promo(), action=ConsentAction.WITHDRAW, channel=Channel.PORTAL)
        transaction.set_rollback(True)
    assert ConsentState.objects.get(client=client, purpose=promo()).granted is True
    _event, created = consent_record(client=client, purpose=promo(), action=ConsentAction.WITHDRAW, channel=Channel.PORTAL)
    assert created and ConsentState.objects.get(client=client, purpose=promo()).granted is False


@pytest.mark.django_db(transaction=True)
def test_simultaneous_first_answers_for_a_purpose_without_state_record_one_event(capsys):
    """The lock statement sees states as of its start; a first state committed while it waited for the chain must
    still turn a repeat into nothing."""
    client = make_client("ca@example.com", country="US", region="US-CA", phone="+14155552671")
    answer = version("9.0", effective_in_days=10)
    acceptance = Purpose.objects.get(code=POLICY_ACCEPTANCE)
    barrier, errors, results = threading.Barrier(4), [], []

    def accept():
        try:
            barrier.wait(timeout=10)
            results.append(consent_record(client=client, purpose=acceptance, action=ConsentAction.GRANT,
                                          channel=Channel.PORTAL, policy_version=answer)[1])
        except Exception as exc:  # re-raised below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=accept) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert sorted(results) == [False, False, False, True]
    assert ConsentEvent.objects.filter(client=client, purpose=acceptance).count() == 1
    call_command("verify_ledger")
    assert "Ledger intact" in capsys.readouterr().out
