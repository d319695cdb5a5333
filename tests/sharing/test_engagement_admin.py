"""Engagements in the admin and from a CSV file (issue #18), and the rule that an affiliate's kind matches the
recipient class of its agreements' purposes."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.demo import DEMO_CLIENT_EMAIL
from accounts.services import staff_user_ensure
from consent.models import Purpose
from sharing.demo import demo_affiliates_ensure
from sharing.models import Affiliate, PartnerEngagement, SharingAgreement
from sharing.services import agreement_create, agreement_kind_error
from tests.conftest import PASSWORD, make_client
from tests.processing.helpers import assessments_approve

from .conftest import make_affiliate

pytestmark = pytest.mark.django_db

IMPORT = reverse("admin:sharing_partnerengagement_import")


@pytest.fixture
def partner(db):
    return make_affiliate("Dropship Partner", purpose="order-fulfilment", fields=("name", "phone"), country="CN")


def upload(browser, text: str):
    return browser.post(IMPORT, {"file": SimpleUploadedFile("orders.csv", text.encode(), content_type="text/csv")})


def confirm(browser, preview):
    return browser.post(IMPORT, {"payload": preview.context["confirm"].initial["payload"]})


def test_csv_import_previews_each_row_applies_only_valid_rows_and_is_idempotent(client, privacy_officer, owner, outsider,
                                                                                partner):
    ads = make_affiliate("Ads Network")
    day = (timezone.localdate() - timedelta(days=3)).isoformat()
    text = "\n".join([
        "partner,client,order_reference,started,ended",
        f"Dropship Partner,{owner.email},SO-1,{day},",
        f"{partner.public_id},{outsider.public_id},SO-2,{day},{timezone.localdate().isoformat()}",
        f"Ads Network,{owner.email},SO-3,{day},",                       # not a partner
        f"Dropship Partner,nobody@example.com,SO-4,{day},",              # unknown client
        f"Dropship Partner,{owner.email},SO-5,2999-01-01,",              # in the future
        f"Dropship Partner,{owner.email},SO-6,yesterday,",               # not a date
        f"Dropship Partner,{owner.email},SO-1,{day},",                   # the same order twice in the file
    ])
    client.force_login(privacy_officer)
    preview = upload(client, text)
    assert preview.status_code == 200
    outcomes = {row.line: (row.status, row.message) for row in preview.context["outcomes"]}
    assert [outcomes[n][0] for n in range(2, 9)] == ["create", "create", "error", "error", "error", "error", "error"]
    assert "not a drop-shipping partner" in outcomes[4][1] and "unknown client" in outcomes[5][1]
    assert "future" in outcomes[6][1] and "bad start" in outcomes[7][1] and "duplicate of line 2" in outcomes[8][1]
    assert not PartnerEngagement.objects.exists()  # nothing before the confirmation
    done = confirm(client, preview)
    assert (done.context["summary"].created, done.context["summary"].skipped) == (2, 5)
    recorded = {e.order_reference: e for e in PartnerEngagement.objects.all()}
    assert set(recorded) == {"SO-1", "SO-2"} and recorded["SO-2"].ended_at is not None
    assert {e.source for e in recorded.values()} == {"csv"} and recorded["SO-1"].recorded_by == privacy_officer
    again = upload(client, text)  # the same file again: nothing new
    assert [row.status for row in again.context["outcomes"]][:2] == ["already", "already"]
    assert PartnerEngagement.objects.count() == 2 and ads.engagements.count() == 0


def test_a_later_file_records_the_end_of_an_order_once(client, privacy_officer, owner, partner):
    day = (timezone.localdate() - timedelta(days=3)).isoformat()
    client.force_login(privacy_officer)
    confirm(client, upload(client, f"partner,client,order_reference,started,ended\nDropship Partner,{owner.email},SO-1,{day},\n"))
    later = upload(client, f"partner,client,order_reference,started,ended\nDropship Partner,{owner.email},SO-1,{day},"
                           f"{timezone.localdate().isoformat()}\n")
    assert [row.status for row in later.context["outcomes"]] == ["end"]
    assert confirm(client, later).context["summary"].ended == 1
    assert PartnerEngagement.objects.get().ended_at is not None


@pytest.mark.parametrize("text, error", [
    ("client,purpose\n", "The first line must be the header"),
    ("partner,client,order_reference,started,ended\n", "a header but no rows"),
    ("", "empty"),
])
def test_a_bad_file_is_one_clear_error_and_records_nothing(client, privacy_officer, text, error):
    client.force_login(privacy_officer)
    response = upload(client, text)
    assert error in response.content.decode() and not PartnerEngagement.objects.exists()


def test_only_privacy_officers_import_engagements(client, support_agent, owner):
    client.force_login(support_agent)
    assert client.get(IMPORT).status_code == 403
    client.force_login(owner.user)  # an outsider to the admin: a client
    assert client.get(IMPORT).status_code == 302
    legal = staff_user_ensure(email="legal@example.com", password=PASSWORD, groups=["Legal"])
    client.force_login(legal)
    assert client.get(IMPORT).status_code == 403


def test_privacy_officer_records_an_engagement_and_its_end_in_the_admin(client, privacy_officer, owner, partner):
    client.force_login(privacy_officer)
    start = timezone.localtime() - timedelta(days=1)
    response = client.post(reverse("admin:sharing_partnerengagement_add"), {
        "affiliate": partner.pk, "client": owner.pk, "order_reference": "SO-9",
        "started_at_0": start.date().isoformat(), "started_at_1": start.strftime("%H:%M:%S")})
    assert response.status_code == 302, response.context["adminform"].form.errors
    engagement = PartnerEngagement.objects.get()
    assert (engagement.source, engagement.recorded_by, engagement.client) == ("admin", privacy_officer, owner)
    now = timezone.localtime()
    client.post(reverse("admin:sharing_partnerengagement_change", args=[engagement.pk]), {
        "ended_at_0": now.date().isoformat(), "ended_at_1": now.strftime("%H:%M:%S")})
    assert PartnerEngagement.objects.get().ended_at is not None
    assert client.post(reverse("admin:sharing_partnerengagement_delete", args=[engagement.pk])).status_code == 403


def test_the_admin_refuses_an_engagement_with_an_affiliated_company(client, privacy_officer, owner):
    ads = make_affiliate("Ads Network")
    client.force_login(privacy_officer)
    response = client.post(reverse("admin:sharing_partnerengagement_add"), {
        "affiliate": ads.pk, "client": owner.pk, "order_reference": "SO-9",
        "started_at_0": timezone.localdate().isoformat(), "started_at_1": "00:00:00"})
    assert response.status_code == 200 and "affiliate" in response.context["adminform"].form.errors
    assert not PartnerEngagement.objects.exists()


# --- the kind of an affiliate matches the recipient class of its purposes -----------------------------------------

@pytest.mark.parametrize("kind, purpose", [
    (Affiliate.Kind.DROPSHIP_PARTNER, "promotional-sharing"),
    (Affiliate.Kind.AFFILIATED_COMPANY, "order-fulfilment"),
    (Affiliate.Kind.AFFILIATED_COMPANY, "business-transfer"),
    (Affiliate.Kind.BUSINESS_TRANSFER, "promotional-sharing"),
    (Affiliate.Kind.DROPSHIP_PARTNER, "terms-enforcement"),  # a purpose no company receives data for
    (Affiliate.Kind.PROCESSOR, "promotional-sharing"),      # a processor never passes for an affiliated company
])
def test_an_agreement_whose_purpose_names_another_kind_of_recipient_is_refused(kind, purpose):
    affiliate = Affiliate.objects.create(name="Some Co", kind=kind, country="CN", contact_name="C", contact_email="c@x.example")
    with pytest.raises(ValidationError):
        agreement_create(affiliate=affiliate, purpose=Purpose.objects.get(code=purpose), fields=["email"] if purpose !=
                         "order-fulfilment" else ["name"], valid_from=timezone.now())
    assert not SharingAgreement.objects.filter(affiliate=affiliate).exists()


def test_the_admin_shows_the_kind_error_next_to_the_purpose(client, privacy_officer):
    client.force_login(privacy_officer)
    data = {"name": "New Partner", "kind": Affiliate.Kind.DROPSHIP_PARTNER, "country": "CN", "contact_name": "Ops",
            "contact_email": "ops@new.example", "active": "on",
            "agreements-TOTAL_FORMS": "1", "agreements-INITIAL_FORMS": "0", "agreements-MIN_NUM_FORMS": "0",
            "agreements-MAX_NUM_FORMS": "1000", "agreements-0-purpose": Purpose.objects.get(code="promotional-sharing").pk,
            "agreements-0-shared_fields": ["email"], "agreements-0-valid_from_0": timezone.localdate().isoformat(),
            "agreements-0-valid_from_1": "00:00:00",
            "api_keys-TOTAL_FORMS": "0", "api_keys-INITIAL_FORMS": "0", "api_keys-MIN_NUM_FORMS": "0",
            "api_keys-MAX_NUM_FORMS": "0"}
    response = client.post(reverse("admin:sharing_affiliate_add"), data)
    assert response.status_code == 200
    errors = response.context["inline_admin_formsets"][0].formset.forms[0].errors
    assert "purpose" in errors and "Drop-shipping partner" in str(errors["purpose"])
    assert not Affiliate.objects.filter(name="New Partner").exists()


def test_no_seeded_or_demo_agreement_breaks_the_kind_rule():
    make_client(DEMO_CLIENT_EMAIL)  # the demo partner gets an engagement with the demo client
    # As seed_demo does it: the demo recipients' impact assessments are approved before their agreements (PIPL Art. 55).
    purposes = Purpose.objects.filter(code__in=["promotional-sharing", "order-fulfilment"])
    demo_affiliates_ensure(before_agreements=lambda made: [assessments_approve(recipient=a, purpose=p)
                                                          for a in made for p in purposes])
    agreements = SharingAgreement.objects.select_related("affiliate", "purpose")
    assert agreements.count() >= 2 + 8  # the two demo affiliates', the two processors' four each
    assert [a for a in agreements if agreement_kind_error(kind=a.affiliate.kind, purpose=a.purpose)] == []


def test_an_affiliate_cannot_change_kind_while_an_agreement_forbids_it(client, privacy_officer):
    ads = make_affiliate("Ads Network")
    client.force_login(privacy_officer)
    response = client.post(reverse("admin:sharing_affiliate_change", args=[ads.pk]), {
        "name": ads.name, "kind": Affiliate.Kind.PROCESSOR, "country": "HK", "contact_name": "C",
        "contact_email": "c@x.example", "active": "on", "agreements-TOTAL_FORMS": "1", "agreements-INITIAL_FORMS": "1",
        "agreements-MIN_NUM_FORMS": "0", "agreements-MAX_NUM_FORMS": "1000",
        "agreements-0-id": ads.agreements.get().pk, "agreements-0-affiliate": ads.pk,
        "api_keys-TOTAL_FORMS": "0", "api_keys-INITIAL_FORMS": "0", "api_keys-MIN_NUM_FORMS": "0",
        "api_keys-MAX_NUM_FORMS": "0"})
    assert response.status_code == 200 and "kind" in response.context["adminform"].form.errors
    assert Affiliate.objects.get(pk=ads.pk).kind == Affiliate.Kind.AFFILIATED_COMPANY
