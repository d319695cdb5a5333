from datetime import date, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from disclosures.models import Disclosure, DisclosureAuditEntry
from disclosures.services import (
    client_on_legal_hold,
    disclosure_approve,
    disclosure_document_add,
    disclosure_mark_disclosed,
    disclosure_note_add,
    disclosure_record,
    disclosure_reject,
    disclosure_submit_for_review,
    disclosure_update,
)
from sharing.models import SharingRecord
from tests.conftest import make_client

pytestmark = pytest.mark.django_db
Status = Disclosure.Status


def record(by, clients, *, country="CN", categories=("name", "phone", "shipping_address")):
    return disclosure_record(recorded_by=by, clients=clients, authority_name="Shenzhen Public Security Bureau",
                             authority_country=country, authority_kind="police", request_type="warrant",
                             reference_number="SZ-2026-0042", received_on=date(2026, 11, 20),
                             categories_requested=list(categories))


def test_a_disclosure_goes_from_received_through_review_and_approval_to_disclosed_with_an_audit_trail(legal, legal2):
    owner = make_client()
    disclosure = record(legal, [owner])
    disclosure = disclosure_submit_for_review(disclosure=disclosure, actor=legal)
    disclosure = disclosure_approve(disclosure=disclosure, reviewer=legal2, reason="Valid warrant")
    disclosure = disclosure_mark_disclosed(disclosure=disclosure, actor=legal2,
                                           disclosed={owner.pk: ["name", "phone", "shipping_address"]})
    assert disclosure.status == Status.DISCLOSED and disclosure.reviewed_by == legal2
    steps = list(DisclosureAuditEntry.objects.filter(disclosure=disclosure).values_list("from_status", "to_status"))
    assert steps == [("", "received"), ("received", "under-review"), ("under-review", "approved"), ("approved", "disclosed")]


def test_forbidden_transitions_are_refused(legal, legal2):
    disclosure = record(legal, [make_client()])
    with pytest.raises(ValidationError, match="cannot become"):
        disclosure_approve(disclosure=disclosure, reviewer=legal2, reason="too early")
    disclosure = disclosure_submit_for_review(disclosure=disclosure, actor=legal)
    disclosure = disclosure_reject(disclosure=disclosure, reviewer=legal2, reason="No legal basis")
    with pytest.raises(ValidationError, match="cannot become"):
        disclosure_submit_for_review(disclosure=disclosure, actor=legal)


def test_the_person_who_recorded_a_request_cannot_approve_it(legal):
    disclosure = disclosure_submit_for_review(disclosure=record(legal, [make_client()]), actor=legal)
    with pytest.raises(PermissionDenied, match="cannot also decide"):
        disclosure_approve(disclosure=disclosure, reviewer=legal, reason="self-approval")
    assert Disclosure.objects.get(pk=disclosure.pk).status == Status.UNDER_REVIEW


def test_only_legal_decides(legal, privacy_officer, support_agent):
    disclosure = disclosure_submit_for_review(disclosure=record(legal, [make_client()]), actor=legal)
    for outsider in (privacy_officer, support_agent):
        with pytest.raises(PermissionDenied, match="Only members of Legal"):
            disclosure_approve(disclosure=disclosure, reviewer=outsider, reason="not mine to decide")


def test_a_foreign_authority_needs_the_prc_approval_reference(legal, legal2):
    disclosure = disclosure_submit_for_review(disclosure=record(legal, [make_client()], country="US"), actor=legal)
    with pytest.raises(ValidationError, match="PRC approval"):
        disclosure_approve(disclosure=disclosure, reviewer=legal2, reason="US subpoena")
    assert Disclosure.objects.get(pk=disclosure.pk).status == Status.UNDER_REVIEW
    approved = disclosure_approve(disclosure=disclosure, reviewer=legal2, reason="US subpoena",
                                  prc_approval_reference="MOJ-2026-7")
    assert approved.prc_approval_obtained and approved.prc_approval_reference == "MOJ-2026-7"


@pytest.mark.parametrize("country", ["HK", "MO", "TW"])
def test_an_authority_in_hong_kong_macao_or_taiwan_needs_prc_approval_for_data_stored_in_mainland_china(legal, legal2,
                                                                                                       country):
    """Country codes are compared, not a free-text storage location: these are outside mainland China (PIPL Art. 41)."""
    disclosure = disclosure_submit_for_review(disclosure=record(legal, [make_client()], country=country), actor=legal)
    with pytest.raises(ValidationError, match="PRC approval"):
        disclosure_approve(disclosure=disclosure, reviewer=legal2, reason="Court order")


def test_data_stored_outside_mainland_china_needs_no_prc_approval(legal, legal2, settings):
    settings.DATA_STORAGE_COUNTRY = "SG"
    disclosure = disclosure_submit_for_review(disclosure=record(legal, [make_client()], country="US"), actor=legal)
    approved = disclosure_approve(disclosure=disclosure, reviewer=legal2, reason="US subpoena")
    assert approved.status == Status.APPROVED and not approved.prc_approval_obtained


def test_each_disclosed_client_gets_a_sharing_record_naming_the_authority(legal, legal2):
    owner, other = make_client(), make_client("other@example.com", country="FR", phone="+33 6 12 34 56 78")
    disclosure = disclosure_submit_for_review(disclosure=record(legal, [owner, other]), actor=legal)
    disclosure = disclosure_approve(disclosure=disclosure, reviewer=legal2, reason="Valid warrant")
    disclosure = disclosure_mark_disclosed(disclosure=disclosure, actor=legal2, disclosed={owner.pk: ["name", "phone"]})
    assert disclosure.status == Status.PARTIALLY_DISCLOSED
    [shared] = SharingRecord.objects.filter(client=owner)
    assert shared.recipient_name == "Shenzhen Public Security Bureau" and shared.affiliate is None
    assert shared.purpose.code == "legal-obligation" and shared.fields == ["name", "phone"]
    assert not SharingRecord.objects.filter(client=other).exists()


def test_a_disclosed_record_never_changes_again(legal, legal2):
    owner = make_client()
    disclosure = disclosure_submit_for_review(disclosure=record(legal, [owner]), actor=legal)
    disclosure = disclosure_approve(disclosure=disclosure, reviewer=legal2, reason="ok")
    disclosure = disclosure_mark_disclosed(disclosure=disclosure, actor=legal2, disclosed={owner.pk: ["name"]})
    with pytest.raises(ValidationError, match="cannot become"):
        disclosure_mark_disclosed(disclosure=disclosure, actor=legal2, disclosed={owner.pk: ["name", "phone"]})


def test_an_open_disclosure_puts_the_client_on_legal_hold_until_it_is_closed(legal, legal2):
    owner = make_client()
    disclosure = record(legal, [owner])
    assert client_on_legal_hold(client=owner) == [disclosure]
    disclosure = disclosure_submit_for_review(disclosure=disclosure, actor=legal)
    disclosure_reject(disclosure=disclosure, reviewer=legal2, reason="No basis")
    assert client_on_legal_hold(client=owner) == []


def test_bad_input_is_refused_and_nothing_is_written(legal):
    with pytest.raises(ValidationError, match="Data categories"):
        record(legal, [make_client()], categories=["passport"])
    with pytest.raises(ValidationError, match="at least one client"):
        record(legal, [])
    assert not Disclosure.objects.exists()


def test_a_request_can_be_corrected_before_the_decision_and_the_trail_names_the_fields(legal):
    disclosure = record(legal, [make_client()])
    disclosure = disclosure_update(disclosure=disclosure, actor=legal,
                                   changes={"reference_number": "SZ-2026-0043", "response_deadline": date(2026, 12, 1)})
    assert Disclosure.objects.get(pk=disclosure.pk).reference_number == "SZ-2026-0043"
    assert DisclosureAuditEntry.objects.filter(disclosure=disclosure).last().note == "Edited: reference_number, response_deadline"


def test_after_disclosure_the_record_cannot_be_edited_only_annotated(legal, legal2):
    owner = make_client()
    disclosure = disclosure_approve(disclosure=disclosure_submit_for_review(disclosure=record(legal, [owner]), actor=legal),
                                    reviewer=legal2, reason="ok")
    disclosure = disclosure_mark_disclosed(disclosure=disclosure, actor=legal2, disclosed={owner.pk: ["name"]})
    with pytest.raises(ValidationError, match="cannot be edited"):
        disclosure_update(disclosure=disclosure, actor=legal, changes={"reference_number": "changed"})
    note = disclosure_note_add(disclosure=disclosure, author=legal, text="The warrant number was SZ-2026-0042A.")
    assert Disclosure.objects.get(pk=disclosure.pk).reference_number == "SZ-2026-0042"
    assert (note.author, note.text) == (legal, "The warrant number was SZ-2026-0042A.") and note.at is not None
    with pytest.raises(ValidationError, match="Write the correction"):
        disclosure_note_add(disclosure=disclosure, author=legal, text="  ")


def test_a_delayed_notice_needs_both_the_date_and_the_authoritys_reference(legal):
    with pytest.raises(ValidationError, match="reference of the authority"):
        disclosure_record(recorded_by=legal, clients=[make_client()], authority_name="Court", authority_country="CN",
                          authority_kind="court", request_type="court-order", reference_number="C-1",
                          received_on=date(2026, 11, 20), categories_requested=["name"], withhold_until=date(2027, 1, 1))
    assert not Disclosure.objects.exists()


def test_documents_must_be_real_pdf_png_or_jpeg_within_the_size_limit(legal, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    disclosure = record(legal, [make_client()])
    document = disclosure_document_add(disclosure=disclosure, kind="request", uploaded_by=legal,
                                       upload=SimpleUploadedFile("warrant.pdf", b"%PDF-1.7 the warrant"))
    assert document.original_name == "warrant.pdf" and document.size == 20 and len(document.sha256) == 64
    assert "warrant" not in document.file.name and document.file.path.startswith(str(tmp_path))
    with pytest.raises(ValidationError, match="not a real PDF"):
        disclosure_document_add(disclosure=disclosure, kind="request", uploaded_by=legal,
                                upload=SimpleUploadedFile("fake.pdf", b"MZ\x90\x00 an executable"))
    with pytest.raises(ValidationError, match="Upload a PDF, PNG or JPEG"):
        disclosure_document_add(disclosure=disclosure, kind="request", uploaded_by=legal,
                                upload=SimpleUploadedFile("notes.html", b"<script>"))
    with pytest.raises(ValidationError, match="larger than 10 MB"):
        disclosure_document_add(disclosure=disclosure, kind="request", uploaded_by=legal,
                                upload=SimpleUploadedFile("big.pdf", b"%PDF-" + b"0" * (10 * 2**20)))
    assert disclosure.documents.count() == 1


def test_legal_hold_reason_never_names_the_authority_while_the_notice_is_withheld(legal):
    from rights.holds import LEGAL_OBLIGATION_REASON, client_legal_holds

    owner, gagged_client = make_client(), make_client("gagged@example.com", phone="+49 151 23456780")
    record(legal, [owner])
    assert "Shenzhen Public Security Bureau" in client_legal_holds(client=owner)[0].reason
    disclosure_record(recorded_by=legal, clients=[gagged_client], authority_name="Secret Court", authority_country="CN",
                      authority_kind="court", request_type="court-order", reference_number="C-9",
                      received_on=timezone.localdate(), categories_requested=["name"],
                      withhold_until=timezone.localdate() + timedelta(days=60), withhold_reference="Order 12")
    assert client_legal_holds(client=gagged_client) == [(str(LEGAL_OBLIGATION_REASON), None)]
