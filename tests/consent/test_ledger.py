import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.utils import DatabaseError

from consent.models import Channel, ConsentAction, ConsentEvent, ConsentState, Purpose
from consent.services import consent_record
from tests.conftest import make_client

pytestmark = pytest.mark.django_db


def promo():
    return Purpose.objects.get(code="promotional-sharing")


def test_new_eu_client_starts_opted_out_of_consent_purposes():
    client = make_client("eu@example.com", country="DE")
    states = {s.purpose.code: s.granted for s in ConsentState.objects.filter(client=client).select_related("purpose")}
    assert states == {"promotional-sharing": False, "marketing-messages": False}
    assert set(ConsentEvent.objects.filter(client=client).values_list("channel", flat=True)) == {Channel.SIGNUP}


def test_new_chinese_client_starts_opted_out_of_consent_purposes():
    client = make_client("cn@example.com", country="CN", phone="+8613800138000")
    assert not ConsentState.objects.filter(client=client, granted=True).exists()


def test_new_californian_client_starts_opted_in_under_the_opt_out_model():
    client = make_client("ca@example.com", country="US", region="US-CA", phone="+14155552671")
    assert ConsentState.objects.get(client=client, purpose=promo()).granted is True


def test_withdrawal_becomes_the_current_state_and_links_into_the_chain():
    client = make_client("ca@example.com", country="US", region="US-CA", phone="+14155552671")
    event, created = consent_record(client=client, purpose=promo(), action=ConsentAction.WITHDRAW, channel=Channel.PORTAL,
                                    ip_address="198.51.100.4", user_agent="Firefox")
    assert created
    state = ConsentState.objects.get(client=client, purpose=promo())
    assert state.granted is False and state.last_event == event
    previous = ConsentEvent.objects.get(client=client, sequence=event.sequence - 1)
    assert event.previous_hash == previous.entry_hash
    assert event.personal.ip_address == "198.51.100.4" and event.personal.user_agent == "Firefox"


def test_purposes_that_do_not_rest_on_consent_cannot_be_withdrawn():
    client = make_client()
    with pytest.raises(ValidationError, match="does not rest on consent"):
        consent_record(client=client, purpose=Purpose.objects.get(code="order-fulfilment"),
                       action=ConsentAction.WITHDRAW, channel=Channel.PORTAL)


def test_database_refuses_to_update_or_delete_a_ledger_event():
    client = make_client()
    event = ConsentEvent.objects.filter(client=client).first()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        ConsentEvent.objects.filter(pk=event.pk).update(action=ConsentAction.GRANT)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM consent_consentevent WHERE id = %s", [event.pk])
    assert ConsentEvent.objects.filter(pk=event.pk, action=ConsentAction.WITHDRAW).exists()


def test_a_purpose_a_new_policy_version_introduces_starts_withdrawn_even_under_the_opt_out_model():
    from amendments.services import policy_draft_save

    version = policy_draft_save(label="2.0", body_en="# Policy 2.0", summary="Adds analytics sharing", is_material=True)
    Purpose.objects.create(code="analytics-sharing", title_en="Analytics sharing", title_zh_hans="分析共享",
                           description_en="x", description_zh_hans="x", legal_basis="consent", withdrawable=True,
                           data_categories=["ip_address"], introduced_in=version)
    client = make_client("ca@example.com", country="US", region="US-CA", phone="+14155552671")
    states = {s.purpose.code: s.granted for s in ConsentState.objects.filter(client=client).select_related("purpose")}
    assert states == {"promotional-sharing": True, "marketing-messages": True, "analytics-sharing": False}
