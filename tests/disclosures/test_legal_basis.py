"""Issue #18.11: a disclosure names its legal basis. A disclosure to prevent claims (the seed's "to prevent against
potential or actual claims") is filed under legitimate interest / legal claims (GDPR Art. 6(1)(f), 9(2)(f)), an
emergency under vital interests, a court order, subpoena, warrant or regulatory request under legal obligation; the
sharing records, the client's notice and the register all name the basis chosen."""

from datetime import date, timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from consent.models import LegalBasis, Purpose
from disclosures.models import Disclosure
from disclosures.services import (
    disclosure_approve,
    disclosure_mark_disclosed,
    disclosure_record,
    disclosure_submit_for_review,
    disclosure_update,
)
from sharing.models import SharingRecord
from tests.conftest import make_client

pytestmark = pytest.mark.django_db
Basis = Disclosure.LegalBasis
CHANGELIST = reverse("admin:disclosures_disclosure_changelist")


def record(by, clients, *, request_type="claims", legal_basis="", reference="CLAIM-2026-7", withhold_until=None,
           authority="Harbour Freight Claims Ltd", kind="private-claimant"):
    return disclosure_record(recorded_by=by, clients=clients, authority_name=authority, authority_country="CN",
                             authority_kind=kind, request_type=request_type, legal_basis=legal_basis,
                             reference_number=reference, received_on=date(2026, 11, 20), categories_requested=["name"],
                             withhold_until=withhold_until, withhold_reference="NDO-1" if withhold_until else "")


def disclosed(disclosure, legal, legal2, client):
    disclosure = disclosure_submit_for_review(disclosure=disclosure, actor=legal)
    disclosure = disclosure_approve(disclosure=disclosure, reviewer=legal2, reason="Claim for a lost parcel")
    return disclosure_mark_disclosed(disclosure=disclosure, actor=legal2, disclosed={client.pk: ["name"]})


def test_disclosure_to_prevent_claims_is_filed_under_legitimate_interest(legal, legal2,
                                                                         django_capture_on_commit_callbacks):
    owner = make_client()
    disclosure = record(legal, [owner])
    assert disclosure.legal_basis == Basis.LEGAL_CLAIMS

    with django_capture_on_commit_callbacks(execute=True):
        disclosed(disclosure, legal, legal2, owner)

    # The disclosure's own record (to the authority, no affiliate); the notice e-mail leaves one to the e-mail processor.
    [shared] = SharingRecord.objects.filter(client=owner, affiliate__isnull=True)
    assert shared.purpose.code == "legal-claims" and shared.purpose.legal_basis == LegalBasis.LEGITIMATE_INTEREST
    assert not SharingRecord.objects.filter(affiliate__isnull=True, purpose__code="legal-obligation").exists()
    [notice] = [m for m in mail.outbox if m.to == [owner.email]]
    assert "legal claim" in notice.body and "legitimate interest" in notice.body
    assert "legal obligation" not in notice.body and "legal request" not in notice.body


@pytest.mark.parametrize(("request_type", "basis", "purpose"), [
    ("court-order", Basis.LEGAL_OBLIGATION, "legal-obligation"),
    ("subpoena", Basis.LEGAL_OBLIGATION, "legal-obligation"),
    ("warrant", Basis.LEGAL_OBLIGATION, "legal-obligation"),
    ("regulatory", Basis.LEGAL_OBLIGATION, "legal-obligation"),
    ("emergency", Basis.VITAL_INTERESTS, "vital-interests"),
])
def test_compelled_disclosures_are_filed_under_legal_obligation_and_emergencies_under_vital_interests(
        legal, legal2, request_type, basis, purpose):
    owner = make_client()
    disclosure = disclosed(record(legal, [owner], request_type=request_type, kind="police",
                                  authority="Shenzhen Public Security Bureau"), legal, legal2, owner)
    assert disclosure.legal_basis == basis
    assert SharingRecord.objects.get(client=owner).purpose.code == purpose


def test_the_claims_notice_is_in_the_clients_language(legal, legal2, django_capture_on_commit_callbacks):
    zh = make_client("zh@example.com", country="CN", phone="+8613800138000", full_name="王芳", preferred_language="zh-hans")
    with django_capture_on_commit_callbacks(execute=True):
        disclosed(record(legal, [zh]), legal, legal2, zh)
    [notice] = [m for m in mail.outbox if m.to == [zh.email]]
    assert "法律索赔" in notice.body and "正当利益" in notice.body and "法定义务" not in notice.body


def test_a_claim_pursued_through_a_court_order_can_be_filed_under_legal_claims_and_a_cleared_choice_follows_the_type(
        legal):
    owner = make_client()
    chosen = record(legal, [owner], request_type="court-order", legal_basis=Basis.LEGAL_CLAIMS)
    assert chosen.legal_basis == Basis.LEGAL_CLAIMS
    corrected = disclosure_update(disclosure=record(legal, [owner], request_type="warrant", reference="W-1"),
                                  actor=legal, changes={"request_type": "claims", "legal_basis": ""})
    assert corrected.legal_basis == Basis.LEGAL_CLAIMS
    assert "legal_basis" in corrected.audit.last().note


def test_the_register_shows_the_basis_chosen_in_its_list_filter_and_record(client, legal):
    owner = make_client()
    claims = record(legal, [owner], reference="CLAIM-1")
    record(legal, [owner], request_type="warrant", reference="WARRANT-1", kind="police", authority="Police")
    client.force_login(legal)

    listed = client.get(CHANGELIST).content.decode()
    assert "Legal claims (legitimate interest)" in listed and "Legal obligation" in listed
    filtered = client.get(CHANGELIST, {"legal_basis": "legal-claims"}).content.decode()
    assert "CLAIM-1" in filtered and "WARRANT-1" not in filtered
    page = client.get(reverse("admin:disclosures_disclosure_change", args=[claims.pk])).content.decode()
    assert "establishing, exercising or defending legal claims (GDPR Art. 6(1)(f), 9(2)(f))" in page


def test_the_form_derives_the_basis_from_the_type_and_refuses_an_unknown_one(client, legal):
    owner = make_client()
    client.force_login(legal)
    form = {"authority_name": "Harbour Freight Claims Ltd", "authority_kind": "private-claimant", "authority_country": "CN",
            "authority_address": "", "request_type": "claims", "legal_basis": "", "legal_instrument": "",
            "reference_number": "CLAIM-9", "received_on": "2026-11-20", "response_deadline": "",
            "categories_requested": ["name"], "withhold_until": "", "withhold_reference": "", "clients": [owner.pk],
            "_save": "Save"}
    bad = client.post(reverse("admin:disclosures_disclosure_add"), {**form, "legal_basis": "because-we-can"})
    assert bad.status_code == 200 and not Disclosure.objects.exists()
    assert client.post(reverse("admin:disclosures_disclosure_add"), form).status_code == 302
    assert Disclosure.objects.get().legal_basis == Basis.LEGAL_CLAIMS


def test_a_withheld_claims_disclosure_is_absent_from_the_basis_filter_for_a_privacy_officer(client, legal,
                                                                                            privacy_officer):
    owner = make_client()
    record(legal, [owner], reference="GAGGED-CLAIM", withhold_until=timezone.localdate() + timedelta(days=30))
    client.force_login(privacy_officer)
    for query in ({}, {"legal_basis": "legal-claims"}):
        page = client.get(CHANGELIST, query).content.decode()
        assert "GAGGED-CLAIM" not in page and "Harbour Freight" not in page


def test_both_new_purposes_exist_in_both_languages():
    for code, basis in (("legal-claims", LegalBasis.LEGITIMATE_INTEREST), ("vital-interests", LegalBasis.VITAL_INTERESTS)):
        purpose = Purpose.objects.get(code=code)
        assert purpose.legal_basis == basis and purpose.title_zh_hans and purpose.description_zh_hans
        assert not purpose.withdrawable
