from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import User
from accounts.services import staff_user_ensure
from consent.models import Channel, ConsentAction, ConsentDefaultRule, ConsentEvent, ConsentState, Purpose
from consent.services import Evidence, consent_record
from notify.models import OutboundMessage
from notify.services import message_queue
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:consent_consentevent_changelist"


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("root@example.com", PASSWORD)


@pytest.fixture
def legal_user(db):
    return staff_user_ensure(email="legal@example.com", password=PASSWORD, groups=["Legal"])


def promo():
    return Purpose.objects.get(code="promotional-sharing")


def letter(client, *, by, reference="LTR-1", **extra):
    event, _created = consent_record(client=client, purpose=promo(), action=ConsentAction.WITHDRAW, channel=Channel.LETTER,
                                     recorded_by=by, evidence=Evidence(reference=reference, received_on=date(2025, 3, 1)),
                                     **extra)
    return event


def fill_ledger(total, *, clients, staff):
    """Letters spread over several clients and staff members until the ledger holds `total` events."""
    n = ConsentEvent.objects.count()
    while n < total:
        letter(clients[n % len(clients)], by=staff[n % len(staff)], reference=f"LTR-{n}")
        n += 1
    assert ConsentEvent.objects.count() == total


def test_a_superuser_cannot_add_change_or_delete_a_ledger_event(client, superuser, owner):
    event = ConsentEvent.objects.filter(client=owner).first()
    client.force_login(superuser)
    assert client.get(reverse("admin:consent_consentevent_add")).status_code == 403
    assert client.get(reverse("admin:consent_consentevent_delete", args=[event.pk])).status_code == 403
    assert client.post(reverse("admin:consent_consentevent_delete", args=[event.pk]), {"post": "yes"}).status_code == 403
    response = client.post(reverse("admin:consent_consentevent_change", args=[event.pk]),
                           {"action": ConsentAction.GRANT, "channel": Channel.STAFF, "sequence": 99})
    assert response.status_code == 403
    unchanged = ConsentEvent.objects.get(pk=event.pk)
    assert (unchanged.action, unchanged.channel, unchanged.sequence, unchanged.entry_hash) == (
        event.action, event.channel, event.sequence, event.entry_hash)


def test_the_ledger_changelist_offers_no_delete_action(client, superuser, owner):
    client.force_login(superuser)
    response = client.get(reverse(CHANGELIST))
    page = response.content.decode()
    assert response.status_code == 200 and "delete_selected" not in page
    assert response.context["action_form"] is None
    assert "<style" not in page  # the strict CSP refuses inline styles


def test_the_changelist_query_count_does_not_grow_with_the_ledger(client, privacy_officer, support_agent, superuser,
                                                                  owner, outsider, django_assert_max_num_queries):
    client.force_login(superuser)
    clients = [owner, outsider]  # two sign-up events each
    staff = [privacy_officer, support_agent]
    fill_ledger(5, clients=clients, staff=staff)
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse(CHANGELIST)).status_code == 200
    fill_ledger(50, clients=clients, staff=staff)
    with django_assert_max_num_queries(len(few)):
        response = client.get(reverse(CHANGELIST))
    assert len(response.context["cl"].result_list) == 50


def test_the_event_page_shows_personal_values_and_hashes_as_text(client, legal_user, privacy_officer, owner):
    event = letter(owner, by=privacy_officer, reference="LTR-9001", ip_address="198.51.100.7", user_agent="Mutt/2.2",
                   reason="Written request")
    client.force_login(legal_user)
    page = client.get(reverse("admin:consent_consentevent_change", args=[event.pk])).content.decode()
    for value in ["198.51.100.7", "Mutt/2.2", "Written request", "LTR-9001", "2025-03-01", event.entry_hash,
                  event.previous_hash, event.personal_digest, privacy_officer.email]:
        assert value in page, value
    assert 'name="action"' not in page and 'name="_save"' not in page


def test_staff_search_the_ledger_by_client_email_or_client_id(client, legal_user, owner, outsider):
    client.force_login(legal_user)
    for term in [owner.email, str(owner.public_id)]:
        page = client.get(reverse(CHANGELIST), {"q": term}).content.decode()
        assert owner.full_name in page and outsider.full_name not in page


def test_a_client_login_cannot_open_the_ledger(client, outsider):
    client.force_login(outsider.user)
    response = client.get(reverse(CHANGELIST))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_consent_states_are_read_only_for_everyone(client, superuser, owner):
    state = ConsentState.objects.filter(client=owner).first()
    client.force_login(superuser)
    assert client.get(reverse("admin:consent_consentstate_changelist")).status_code == 200
    assert client.get(reverse("admin:consent_consentstate_add")).status_code == 403
    assert client.post(reverse("admin:consent_consentstate_change", args=[state.pk]), {"granted": "on"}).status_code == 403
    assert client.get(reverse("admin:consent_consentstate_delete", args=[state.pk])).status_code == 403
    assert ConsentState.objects.get(pk=state.pk).granted is state.granted


def test_privacy_officer_edits_a_purpose_title_but_not_its_code_or_legal_basis(client, privacy_officer, support_agent):
    purpose = promo()
    client.force_login(privacy_officer)
    data = {"code": "renamed", "legal_basis": "contract", "title_en": "Sharing with our affiliates",
            "title_zh_hans": purpose.title_zh_hans, "description_en": purpose.description_en,
            "description_zh_hans": purpose.description_zh_hans, "data_categories": '["ip_address", "email"]',
            "recipient_class": purpose.recipient_class, "withdrawable": "on", "opted_out_by_gpc": "on",
            "is_marketing": "on", "transfer_outside_china": "on", "display_order": purpose.display_order}
    response = client.post(reverse("admin:consent_purpose_change", args=[purpose.pk]), data)
    assert response.status_code == 302
    purpose.refresh_from_db()
    assert (purpose.title_en, purpose.code, purpose.legal_basis) == (
        "Sharing with our affiliates", "promotional-sharing", "consent")
    assert client.get(reverse("admin:consent_purpose_delete", args=[purpose.pk])).status_code == 403
    client.force_login(support_agent)  # may read the catalogue, not change it
    assert client.post(reverse("admin:consent_purpose_change", args=[purpose.pk]), data).status_code == 403


def test_default_rules_list_names_their_purpose_or_all_consent_purposes(client, privacy_officer, legal_user):
    ConsentDefaultRule.objects.get_or_create(jurisdiction="CN", purpose=None, defaults={"granted_by_default": False})
    client.force_login(legal_user)
    page = client.get(reverse("admin:consent_consentdefaultrule_changelist")).content.decode()
    assert "all consent purposes" in page and "opt-in" in page
    assert client.get(reverse("admin:consent_consentdefaultrule_add")).status_code == 403
    client.force_login(privacy_officer)
    assert client.get(reverse("admin:consent_consentdefaultrule_add")).status_code == 200


def test_outbound_messages_are_read_only_and_hide_one_time_secrets(client, superuser, owner, outsider):
    message = message_queue(channel=OutboundMessage.Channel.EMAIL, kind="password-reset", to=owner.email,
                            body="https://example.com/reset/SECRET-TOKEN/", idempotency_key="reset-1",
                            wipe_body_after_send=True)
    client.force_login(superuser)
    page = client.get(reverse("admin:notify_outboundmessage_changelist")).content.decode()
    assert "password-reset" in page and "delete_selected" not in page
    assert "SECRET-TOKEN" not in client.get(reverse("admin:notify_outboundmessage_change", args=[message.pk])).content.decode()
    assert client.get(reverse("admin:notify_outboundmessage_add")).status_code == 403
    assert client.get(reverse("admin:notify_outboundmessage_delete", args=[message.pk])).status_code == 403
    assert client.post(reverse("admin:notify_outboundmessage_change", args=[message.pk]), {"status": "sent"}).status_code == 403
    client.force_login(outsider.user)
    assert client.get(reverse("admin:notify_outboundmessage_changelist")).status_code == 302
