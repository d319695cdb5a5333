import uuid
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.services import staff_user_ensure
from consent.models import Purpose
from sharing.keys import key_hash
from sharing.models import Affiliate, ApiKey, SharingAgreement, SharingRecord, WithdrawalNotice
from sharing.services import affiliate_key_create, agreement_create, agreement_end, sharing_records_write, withdrawals_acknowledge
from tests.conftest import PASSWORD, make_client
from tests.processing.helpers import assessments_approve

from .conftest import bearer, make_affiliate

pytestmark = pytest.mark.django_db

KEY_ADD = reverse("admin:sharing_apikey_add")
KEYS = reverse("admin:sharing_apikey_changelist")
RECORDS = reverse("admin:sharing_sharingrecord_changelist")
NOTICES = reverse("admin:sharing_withdrawalnotice_changelist")
AFFILIATES = reverse("admin:sharing_affiliate_changelist")
AGREEMENT_API = "/api/v1/agreement/"


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("root@example.com", PASSWORD)


@pytest.fixture
def legal_user(db):
    return staff_user_ensure(email="legal@example.com", password=PASSWORD, groups=["Legal"])


def purpose(code):
    return Purpose.objects.get(code=code)


def share(affiliate, clients, *, code="promotional-sharing", fields=("email", "ip_address"), at=None):
    sharing_records_write(affiliate=affiliate, purpose=purpose(code), fields=list(fields), client_ids=[c.pk for c in clients],
                          api_key=None, request_id=uuid.uuid4(), at=at or timezone.now())


def affiliate_since(name, *, days, code="promotional-sharing", fields=("email",)):
    """An affiliate whose agreement started `days` ago, so it can be ended in the past."""
    affiliate = Affiliate.objects.create(name=name, kind=Affiliate.Kind.AFFILIATED_COMPANY, country="HK",
                                         contact_name="Contact", contact_email="contact@partner.example")
    assessments_approve(recipient=affiliate, purpose=purpose(code))  # PIPL Art. 55: before its first agreement
    agreement = agreement_create(affiliate=affiliate, purpose=purpose(code), fields=list(fields),
                                 valid_from=timezone.now() - timedelta(days=days))
    return affiliate, agreement


# API keys


def test_privacy_officer_creates_a_key_in_the_admin_and_sees_it_once(client, privacy_officer, ads):
    client.force_login(privacy_officer)
    assert client.get(KEY_ADD, {"affiliate": ads.pk}).status_code == 200
    response = client.post(KEY_ADD, {"affiliate": ads.pk, "name": "nightly sync", "expires_at_0": "", "expires_at_1": ""})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    key = response.context["key"]
    page = response.content.decode()
    assert key in page and "cannot be shown again" in page

    stored = ApiKey.objects.get(affiliate=ads, name="nightly sync")
    assert stored.key_hash == key_hash(key) and key.split("_")[1] == stored.prefix
    assert key not in str(ApiKey.objects.filter(pk=stored.pk).values().get())
    assert stored.created_by == privacy_officer and stored.expires_at is None
    assert key not in str(dict(client.session.items()))
    assert key not in client.get(reverse("admin:sharing_apikey_change", args=[stored.pk])).content.decode()
    assert key not in client.get(KEYS).content.decode()
    assert LogEntry.objects.filter(object_id=str(stored.pk), user=privacy_officer).exists()

    answer = client.get(AGREEMENT_API, **bearer(key))
    assert answer.status_code == 200 and answer.json()["affiliate"] == "Ads Network"


def test_a_key_with_an_expiry_in_the_past_is_refused_with_the_reason(client, privacy_officer, ads):
    client.force_login(privacy_officer)
    response = client.post(KEY_ADD, {"affiliate": ads.pk, "expires_at_0": "2020-01-01", "expires_at_1": "10:00:00"})
    assert response.status_code == 200 and "The expiry must be in the future." in response.content.decode()
    assert "key" not in response.context and not ApiKey.objects.exists()


def test_revoking_a_key_in_the_admin_refuses_the_very_next_request(client, privacy_officer, ads):
    api_key, key = affiliate_key_create(affiliate=ads)
    other, other_key = affiliate_key_create(affiliate=ads, name="kept")
    assert client.get(AGREEMENT_API, **bearer(key)).status_code == 200
    client.force_login(privacy_officer)
    response = client.post(KEYS, {"action": "revoke_selected", "_selected_action": [api_key.pk]})
    assert response.status_code == 302
    client.logout()
    refused = client.get(AGREEMENT_API, **bearer(key))
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "revoked_key"
    assert client.get(AGREEMENT_API, **bearer(other_key)).status_code == 200


def test_support_agents_and_legal_cannot_create_or_revoke_keys(client, support_agent, legal_user, ads):
    api_key, key = affiliate_key_create(affiliate=ads)
    for user in (support_agent, legal_user):
        client.force_login(user)
        assert client.get(KEY_ADD).status_code == 403
        assert client.post(KEY_ADD, {"affiliate": ads.pk, "name": "mine"}).status_code == 403
        assert client.post(KEYS, {"action": "revoke_selected", "_selected_action": [api_key.pk]}).status_code == 403
    assert ApiKey.objects.count() == 1 and ApiKey.objects.get().revoked_at is None


def test_a_client_login_is_refused_by_the_admin(client, owner, ads):
    client.force_login(owner.user)
    for url in (KEY_ADD, KEYS, RECORDS):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))
    client.logout()
    response = client.post(reverse("admin:login"), {"username": owner.email, "password": PASSWORD, "next": KEY_ADD})
    assert response.status_code == 200 and "staff account" in response.content.decode()
    assert client.get(KEY_ADD).status_code == 302 and not ApiKey.objects.exists()


def test_keys_cannot_be_edited_or_deleted_even_by_a_superuser(client, superuser, ads):
    api_key, _key = affiliate_key_create(affiliate=ads, name="original")
    client.force_login(superuser)
    change = reverse("admin:sharing_apikey_change", args=[api_key.pk])
    assert client.post(change, {"name": "changed", "prefix": "aaaa"}).status_code == 403
    assert client.post(reverse("admin:sharing_apikey_delete", args=[api_key.pk]), {"post": "yes"}).status_code == 403
    assert ApiKey.objects.get(pk=api_key.pk).name == "original"


# Sharing records


def test_records_admin_is_read_only_even_for_a_superuser(client, superuser, owner, ads):
    share(ads, [owner])
    record = SharingRecord.objects.get()
    client.force_login(superuser)
    response = client.get(RECORDS)
    assert response.status_code == 200 and "delete_selected" not in response.content.decode()
    assert client.get(reverse("admin:sharing_sharingrecord_add")).status_code == 403
    change = reverse("admin:sharing_sharingrecord_change", args=[record.pk])
    assert client.get(change).status_code == 200
    assert client.post(change, {"recipient_name": "Someone else"}).status_code == 403
    assert client.post(reverse("admin:sharing_sharingrecord_delete", args=[record.pk]), {"post": "yes"}).status_code == 403
    assert SharingRecord.objects.get().recipient_name == "Ads Network"


def test_records_are_searchable_by_client_email_and_id_and_filterable(client, privacy_officer, owner, outsider, ads, dropship):
    share(ads, [owner, outsider])
    share(dropship, [owner], code="order-fulfilment", fields=("name",))
    client.force_login(privacy_officer)

    def shown(**params):
        return {(r.client.email, r.recipient_name) for r in client.get(RECORDS, params).context["cl"].result_list}

    assert shown(q=outsider.email) == {(outsider.email, "Ads Network")}
    assert shown(q=str(owner.public_id)) == {(owner.email, "Ads Network"), (owner.email, "Dropship Partner")}
    assert shown(affiliate__id__exact=dropship.pk) == {(owner.email, "Dropship Partner")}
    assert shown(purpose__id__exact=purpose("promotional-sharing").pk) == {(owner.email, "Ads Network"),
                                                                          (outsider.email, "Ads Network")}
    assert shown(shared_at__gte=(timezone.now() + timedelta(days=1)).isoformat()) == set()


def test_support_agents_see_records_and_an_outsider_does_not(client, support_agent, owner, ads):
    share(ads, [owner])
    client.force_login(support_agent)
    assert client.get(RECORDS).status_code == 200
    client.force_login(owner.user)
    assert client.get(RECORDS).status_code == 302


def test_records_list_costs_the_same_queries_for_3_or_60_records(client, privacy_officer, ads, dropship):
    clients = [make_client(f"c{n}@example.com", phone="") for n in range(30)]
    client.force_login(privacy_officer)
    client.get(RECORDS)

    def queries():
        with CaptureQueriesContext(connection) as context:
            assert client.get(RECORDS).status_code == 200
        return len(context)

    share(ads, clients[:3])
    few = queries()
    share(ads, clients[3:])
    share(dropship, clients, code="order-fulfilment", fields=("name",))
    assert SharingRecord.objects.count() == 60 and queries() == few


# Withdrawal notices


@pytest.fixture
def notices(owner, outsider):
    """Two notices overdue (an agreement ended 10 days ago), one waiting and one acknowledged (ended yesterday)."""
    old, old_agreement = affiliate_since("Old Partner", days=30)
    recent, recent_agreement = affiliate_since("Recent Partner", days=30)
    share(old, [owner, outsider], fields=("email",), at=timezone.now() - timedelta(days=20))
    share(recent, [owner, outsider], fields=("email",), at=timezone.now() - timedelta(days=20))
    agreement_end(agreement=old_agreement, at=timezone.now() - timedelta(days=10))
    agreement_end(agreement=recent_agreement, at=timezone.now() - timedelta(days=1))
    acknowledged = WithdrawalNotice.objects.get(affiliate=recent, client=outsider)
    withdrawals_acknowledge(affiliate=recent, notice_ids=[acknowledged.public_id], at=timezone.now())
    return old, recent


def test_overdue_notices_are_marked_and_filterable(client, privacy_officer, notices, owner, outsider):
    old, recent = notices
    client.force_login(privacy_officer)

    def listed(**params):
        response = client.get(NOTICES, params)
        admin = response.context["cl"].model_admin
        return {(n.affiliate.name, n.client.email, admin.overdue(n)) for n in response.context["cl"].result_list}

    assert listed(acknowledgement="overdue") == {("Old Partner", owner.email, True), ("Old Partner", outsider.email, True)}
    assert listed(acknowledgement="waiting") == {("Recent Partner", owner.email, False)}
    assert listed(acknowledgement="acknowledged") == {("Recent Partner", outsider.email, False)}
    assert len(listed()) == 4
    assert 'alt="True"' in client.get(NOTICES, {"acknowledgement": "overdue"}).content.decode()


def test_the_deadline_comes_from_the_settings(client, privacy_officer, notices, settings):
    settings.WITHDRAWAL_ACK_DEADLINE_DAYS = 30
    client.force_login(privacy_officer)
    assert list(client.get(NOTICES, {"acknowledgement": "overdue"}).context["cl"].result_list) == []


def test_affiliate_list_counts_waiting_and_overdue_notices_without_n_plus_1(client, privacy_officer, notices):
    client.force_login(privacy_officer)

    def rows():
        with CaptureQueriesContext(connection) as context:
            response = client.get(AFFILIATES)
        counts = {a.name: (a.notices_waiting_count, a.notices_overdue_count) for a in response.context["cl"].result_list
                  if a.kind != Affiliate.Kind.PROCESSOR}  # the e-mail and SMS processors the migration seeds
        return counts, len(context)

    counts, few = rows()
    assert counts == {"Old Partner": (2, 2), "Recent Partner": (1, 0)}
    for n in range(10):
        make_affiliate(f"Extra{n} Partner")
    counts, many = rows()
    assert len(counts) == 12 and many == few


def test_notices_are_read_only_for_a_superuser_and_hidden_from_support_agents(client, superuser, support_agent, notices):
    notice = WithdrawalNotice.objects.first()
    client.force_login(superuser)
    assert client.get(reverse("admin:sharing_withdrawalnotice_change", args=[notice.pk])).status_code == 200
    assert client.post(reverse("admin:sharing_withdrawalnotice_change", args=[notice.pk]), {}).status_code == 403
    assert client.get(reverse("admin:sharing_withdrawalnotice_add")).status_code == 403
    client.force_login(support_agent)
    assert client.get(NOTICES).status_code == 403


# Affiliates and their agreements


def affiliate_form(**agreement):
    data = {"name": "New Partner", "kind": Affiliate.Kind.DROPSHIP_PARTNER, "country": "CN", "contact_name": "Li",
            "contact_email": "li@partner.example", "active": "on", "transfer_mechanism": "none",
            "agreements-TOTAL_FORMS": "1", "agreements-INITIAL_FORMS": "0", "agreements-MIN_NUM_FORMS": "0",
            "agreements-MAX_NUM_FORMS": "1000", "api_keys-TOTAL_FORMS": "0", "api_keys-INITIAL_FORMS": "0",
            "api_keys-MIN_NUM_FORMS": "0", "api_keys-MAX_NUM_FORMS": "0"}
    data.update({f"agreements-0-{k}": v for k, v in agreement.items()})
    return data


GOOD_AGREEMENT = {"purpose": None, "shared_fields": ["shipping_address", "name"], "valid_from_0": "2025-01-01",
                  "valid_from_1": "00:00:00", "valid_until_0": "", "valid_until_1": "", "reference": "CTR-7"}


@pytest.mark.parametrize("change, error", [
    ({"shared_fields": []}, "Choose at least one kind of data."),
    ({"valid_until_0": "2024-12-31", "valid_until_1": "00:00:00"}, "An agreement must end after it starts."),
    ({"shared_fields": ["name", "email"]}, "does not let"),
])
def test_agreements_are_checked_like_the_service_checks_them(client, privacy_officer, change, error):
    client.force_login(privacy_officer)
    agreement = {**GOOD_AGREEMENT, "purpose": purpose("order-fulfilment").pk, **change}
    response = client.post(reverse("admin:sharing_affiliate_add"), affiliate_form(**agreement))
    assert response.status_code == 200 and error in response.content.decode()
    assert not Affiliate.objects.filter(name="New Partner").exists()


def test_privacy_officer_adds_an_affiliate_then_its_agreement_once_an_impact_assessment_is_approved(client, privacy_officer):
    """PIPL Art. 55 (issue #18.7): a new recipient cannot be given an agreement on the page that creates it; it is
    saved alone, assessed and approved by two people, and then the agreement is added."""
    client.force_login(privacy_officer)
    agreement = {**GOOD_AGREEMENT, "purpose": purpose("order-fulfilment").pk}
    refused = client.post(reverse("admin:sharing_affiliate_add"), affiliate_form(**agreement))
    assert refused.status_code == 200 and "receives no data before an impact assessment" in refused.content.decode()
    assert not Affiliate.objects.filter(name="New Partner").exists()

    response = client.post(reverse("admin:sharing_affiliate_add"), affiliate_form())
    assert response.status_code == 302
    affiliate = Affiliate.objects.get(name="New Partner")
    assessments_approve(recipient=affiliate, purpose=purpose("order-fulfilment"))
    data = {**affiliate_form(**agreement), "agreements-INITIAL_FORMS": "0"}
    response = client.post(reverse("admin:sharing_affiliate_change", args=[affiliate.pk]), data)
    assert response.status_code == 302
    created = SharingAgreement.objects.get(affiliate__name="New Partner")
    assert created.fields == ["name", "shipping_address"] and created.reference == "CTR-7" and created.valid_until is None
    page = client.get(reverse("admin:sharing_affiliate_change", args=[created.affiliate_id])).content.decode()
    assert "Name, Shipping address" in page and "End this agreement" in page and "Create an API key" in page


def test_a_second_agreement_is_added_on_the_change_page_and_the_first_is_left_as_it_was(client, privacy_officer, ads):
    first = SharingAgreement.objects.get(affiliate=ads)
    client.force_login(privacy_officer)
    data = affiliate_form()
    data.update({"name": ads.name, "kind": ads.kind, "country": ads.country, "transfer_mechanism": ads.transfer_mechanism,
                 "transfer_mechanism_reference": ads.transfer_mechanism_reference, "agreements-TOTAL_FORMS": "2",
                 "agreements-INITIAL_FORMS": "1", "agreements-0-id": first.pk, "agreements-0-affiliate": ads.pk,
                 "agreements-0-reference": "tampered", "agreements-0-shared_fields": ["phone"]})
    second = {**GOOD_AGREEMENT, "purpose": purpose("promotional-sharing").pk, "shared_fields": ["email"], "reference": "PS-2"}
    data.update({f"agreements-1-{k}": v for k, v in second.items()})
    response = client.post(reverse("admin:sharing_affiliate_change", args=[ads.pk]), data)
    assert response.status_code == 302
    unchanged = SharingAgreement.objects.get(pk=first.pk)
    assert (unchanged.reference, unchanged.fields) == ("", ["email", "ip_address"])
    added = SharingAgreement.objects.exclude(pk=first.pk).get(affiliate=ads)
    assert (added.purpose.code, added.fields, added.reference) == ("promotional-sharing", ["email"], "PS-2")


def test_privacy_officer_ends_an_agreement_and_its_holders_are_notified(client, privacy_officer, owner, ads):
    share(ads, [owner])
    agreement = SharingAgreement.objects.get(affiliate=ads)
    client.force_login(privacy_officer)
    end = reverse("admin:sharing_affiliate_agreement_end", args=[agreement.pk])
    assert client.get(end).status_code == 200
    response = client.post(end)
    assert response.status_code == 302
    agreement.refresh_from_db()
    assert agreement.valid_until is not None and agreement.valid_until <= timezone.now()
    notice = WithdrawalNotice.objects.get(affiliate=ads)
    assert notice.client == owner and notice.reason == WithdrawalNotice.Reason.AGREEMENT_ENDED


def test_legal_sees_agreements_but_cannot_add_or_end_them_and_an_outsider_sees_nothing(client, legal_user, owner, ads):
    agreement = SharingAgreement.objects.get(affiliate=ads)
    client.force_login(legal_user)
    page = client.get(reverse("admin:sharing_affiliate_change", args=[ads.pk])).content.decode()
    assert "Email address, IP address" in page and "End this agreement" not in page and "Create an API key" not in page
    assert client.post(reverse("admin:sharing_affiliate_agreement_end", args=[agreement.pk])).status_code == 403
    assert SharingAgreement.objects.get(pk=agreement.pk).valid_until is None
    client.force_login(owner.user)
    assert client.get(reverse("admin:sharing_affiliate_change", args=[ads.pk])).status_code == 302
