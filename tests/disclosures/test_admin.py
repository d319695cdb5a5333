import re
from datetime import date, timedelta

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.services import staff_user_ensure
from disclosures.models import Disclosure, DisclosureAuditEntry, DisclosureDocument, DisclosureNote, DisclosureSubject
from disclosures.services import (
    disclosure_approve,
    disclosure_document_add,
    disclosure_mark_disclosed,
    disclosure_record,
    disclosure_reject,
    disclosure_submit_for_review,
)
from tests.conftest import PASSWORD, make_client

pytestmark = pytest.mark.django_db
Status = Disclosure.Status
CHANGELIST = "admin:disclosures_disclosure_changelist"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def record(by, clients, *, reference="SZ-2026-0042", country="CN", deadline=None, received=date(2026, 11, 20),
           request_type="warrant", categories=("name", "phone", "shipping_address")):
    return disclosure_record(recorded_by=by, clients=clients, authority_name="Shenzhen Public Security Bureau",
                             authority_country=country, authority_kind="police", request_type=request_type,
                             reference_number=reference, received_on=received, response_deadline=deadline,
                             categories_requested=list(categories))


def under_review(by, clients, **kwargs):
    return disclosure_submit_for_review(disclosure=record(by, clients, **kwargs), actor=by)


def change_url(disclosure, suffix=""):
    return reverse("admin:disclosures_disclosure_change", args=[disclosure.pk]) + suffix


def step_url(disclosure, step):
    return reverse(f"admin:disclosures_disclosure_{step}", args=[disclosure.pk])


def request_form(clients, /, **overrides):
    data = {"authority_name": "Shenzhen Public Security Bureau", "authority_kind": "police", "authority_country": "CN",
            "authority_address": "", "request_type": "warrant", "legal_instrument": "Warrant 2026/17",
            "reference_number": "SZ-2026-0099", "received_on": "2026-11-20", "response_deadline": "2026-12-10",
            "categories_requested": ["name", "phone"], "withhold_until": "", "withhold_reference": "",
            "clients": [c.pk for c in clients], "_save": "Save"}
    return {**data, **overrides}


def shown(response) -> str:
    return response.content.decode()


def said(response) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def references_in_order(page: str) -> list[str]:
    return re.findall(r'class="field-reference_number"><a [^>]*>([^<]+)</a>', page)


# --- The queue ----------------------------------------------------------------------------------------------------


def test_the_queue_is_ordered_by_deadline_and_marks_open_requests_past_it_as_overdue(client, legal, legal2,
                                                                                      django_assert_max_num_queries):
    owner, today = make_client(), timezone.localdate()
    record(legal, [owner], reference="NO-DEADLINE")
    record(legal, [owner], reference="NEXT-WEEK", deadline=today + timedelta(days=7))
    record(legal, [owner], reference="LATE-OPEN", deadline=today - timedelta(days=3))
    rejected = under_review(legal, [owner], reference="LATE-CLOSED", deadline=today - timedelta(days=5))
    disclosure_reject(disclosure=rejected, reviewer=legal2, reason="No legal basis")
    client.force_login(legal)
    with django_assert_max_num_queries(12):
        page = shown(client.get(reverse(CHANGELIST)))
    assert references_in_order(page) == ["LATE-CLOSED", "LATE-OPEN", "NEXT-WEEK", "NO-DEADLINE"]
    rows = {ref: row for ref, row in re.findall(r'<a [^>]*>([A-Z-]+)</a></th>(.*?)</tr>', page, re.S)}
    assert "Overdue" in rows["LATE-OPEN"]
    assert "Overdue" not in rows["LATE-CLOSED"] and "Overdue" not in rows["NEXT-WEEK"]


def test_the_queue_filters_by_status_country_request_type_and_year(client, legal):
    owner = make_client()
    record(legal, [owner], reference="CN-WARRANT-2026")
    under_review(legal, [owner], reference="US-SUBPOENA-2026", country="US", request_type="subpoena")
    record(legal, [owner], reference="CN-COURT-2025", request_type="court-order", received=date(2025, 3, 1))
    client.force_login(legal)

    def found(**params):
        return sorted(references_in_order(shown(client.get(reverse(CHANGELIST), params))))

    assert found(status__exact="under-review") == ["US-SUBPOENA-2026"]
    assert found(authority_country__exact="CN") == ["CN-COURT-2025", "CN-WARRANT-2026"]
    assert found(request_type__exact="court-order") == ["CN-COURT-2025"]
    assert found(received_year="2026") == ["CN-WARRANT-2026", "US-SUBPOENA-2026"]


def test_the_queue_finds_the_requests_about_a_client_by_email(client, legal):
    owner, other = make_client(), make_client("other@example.com", country="FR", phone="+33 6 12 34 56 78")
    record(legal, [owner], reference="ABOUT-OWNER")
    record(legal, [other], reference="ABOUT-OTHER")
    client.force_login(legal)
    assert references_in_order(shown(client.get(reverse(CHANGELIST), {"q": "owner@example.com"}))) == ["ABOUT-OWNER"]


# --- Recording a request ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("term", ["owner@example.com", "+4915123456789", "PUBLIC_ID"])
def test_the_request_form_finds_the_client_by_email_phone_or_client_id(client, legal, term):
    owner, outsider = make_client(), make_client("outsider@example.com", country="FR", phone="+33 6 12 34 56 78")
    client.force_login(legal)
    page = shown(client.get(reverse("admin:disclosures_disclosure_add")))
    assert 'class="admin-autocomplete"' in page and 'data-field-name="client"' in page
    response = client.get(reverse("admin:autocomplete"), {
        "app_label": "disclosures", "model_name": "disclosuresubject", "field_name": "client",
        "term": str(owner.public_id) if term == "PUBLIC_ID" else term})
    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [str(owner.pk)] != [str(outsider.pk)]


def test_the_request_form_has_no_inline_script_or_style(client, legal):
    client.force_login(legal)
    page = shown(client.get(reverse("admin:disclosures_disclosure_add")))
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
    assert " style=" not in page and "<style" not in page


def test_recording_a_request_creates_it_with_its_clients_and_an_audit_entry(client, legal):
    owner, other = make_client(), make_client("other@example.com", country="FR", phone="+33 6 12 34 56 78")
    client.force_login(legal)
    response = client.post(reverse("admin:disclosures_disclosure_add"), request_form([owner, other]))
    disclosure = Disclosure.objects.get(reference_number="SZ-2026-0099")
    assert response.status_code == 302 and response["Location"] == change_url(disclosure)
    assert disclosure.recorded_by == legal and disclosure.status == Status.RECEIVED
    assert disclosure.categories_requested == ["name", "phone"] and disclosure.response_deadline == date(2026, 12, 10)
    assert set(disclosure.subjects.values_list("client_id", flat=True)) == {owner.pk, other.pk}
    assert list(disclosure.audit.values_list("actor__email", "to_status")) == [("legal@example.com", "received")]


@pytest.mark.parametrize("overrides, error", [
    ({"clients": []}, "Name at least one client concerned."),
    ({"categories_requested": ["name", "bank_account"]}, "bank_account is not one of the available choices"),
    ({"withhold_until": "2027-06-01"}, "A delayed notice needs the reference of the authority"),
    ({"withhold_reference": "Order 17 of the court"}, "Give the date until which the client must not be told."),
])
def test_bad_request_input_is_shown_on_the_form_and_records_nothing(client, legal, overrides, error):
    owner = make_client()
    client.force_login(legal)
    response = client.post(reverse("admin:disclosures_disclosure_add"), request_form([owner], **overrides))
    assert response.status_code == 200 and error in shown(response)
    assert not Disclosure.objects.exists() and not DisclosureSubject.objects.exists()
    assert not DisclosureAuditEntry.objects.exists()


def test_a_request_is_corrected_before_the_decision_through_the_service_which_audits_it(client, legal):
    owner, other = make_client(), make_client("other@example.com", country="FR", phone="+33 6 12 34 56 78")
    disclosure = record(legal, [owner])
    client.force_login(legal)
    response = client.post(change_url(disclosure), request_form(
        [owner, other], reference_number="SZ-2026-0042", categories_requested=["name"]))
    assert response.status_code == 302
    disclosure.refresh_from_db()
    assert disclosure.categories_requested == ["name"]
    assert set(disclosure.subjects.values_list("client_id", flat=True)) == {owner.pk, other.pk}
    assert "clients" in disclosure.audit.last().note and "categories_requested" in disclosure.audit.last().note


# --- Decisions ----------------------------------------------------------------------------------------------------


def test_legal_submits_a_request_for_review_from_its_own_page(client, legal):
    disclosure = record(legal, [make_client()])
    client.force_login(legal)
    assert step_url(disclosure, "submit") in shown(client.get(change_url(disclosure)))
    response = client.post(step_url(disclosure, "submit"))
    assert response.status_code == 302 and "is now Under review" in said(response)
    assert Disclosure.objects.get(pk=disclosure.pk).status == Status.UNDER_REVIEW


def test_the_bulk_submit_action_goes_through_the_service_and_reports_each_refusal(client, legal, legal2):
    owner = make_client()
    waiting = [record(legal, [owner], reference=f"WAIT-{n}") for n in (1, 2)]
    decided = under_review(legal, [owner], reference="DECIDED")
    disclosure_reject(disclosure=decided, reviewer=legal2, reason="No legal basis")
    client.force_login(legal)
    response = client.post(reverse(CHANGELIST), {"action": "submit_for_review",
                                                 "_selected_action": [d.pk for d in [*waiting, decided]]})
    assert response.status_code == 302
    assert "2 requests were submitted for review." in said(response)
    assert "Shenzhen Public Security Bureau · DECIDED was not submitted" in said(response)
    assert "“Rejected” cannot become “Under review”" in said(response)
    statuses = dict(Disclosure.objects.values_list("reference_number", "status"))
    assert statuses == {"WAIT-1": "under-review", "WAIT-2": "under-review", "DECIDED": "rejected"}


def test_the_decision_actions_open_the_decision_page_of_one_selected_request(client, legal, legal2):
    owner = make_client()
    first, second = under_review(legal, [owner], reference="FIRST"), under_review(legal, [owner], reference="SECOND")
    client.force_login(legal2)
    response = client.post(reverse(CHANGELIST), {"action": "approve_one", "_selected_action": [first.pk]})
    assert response.status_code == 302 and response["Location"] == step_url(first, "approve")
    response = client.post(reverse(CHANGELIST), {"action": "reject_one", "_selected_action": [first.pk, second.pk]})
    assert "Choose exactly one request" in said(response)
    assert set(Disclosure.objects.values_list("status", flat=True)) == {Status.UNDER_REVIEW}


def test_the_person_who_recorded_a_request_is_refused_approval_with_the_reason(client, legal):
    disclosure = under_review(legal, [make_client()])
    client.force_login(legal)
    response = client.post(step_url(disclosure, "approve"), {"reason": "Looks fine to me"})
    assert response.status_code == 200
    assert "The person who recorded a request cannot also decide on it." in shown(response)
    assert Disclosure.objects.get(pk=disclosure.pk).status == Status.UNDER_REVIEW


def test_a_reviewer_outside_legal_is_refused_by_the_service_with_its_message(client, legal):
    disclosure = under_review(legal, [make_client()])
    root = staff_user_ensure(email="root@example.com", password=PASSWORD, groups=[], superuser=True)
    client.force_login(root)
    response = client.post(step_url(disclosure, "approve"), {"reason": "I am the superuser"})
    assert response.status_code == 200 and "Only members of Legal approve or reject disclosures." in shown(response)
    assert Disclosure.objects.get(pk=disclosure.pk).status == Status.UNDER_REVIEW


def test_a_second_member_of_legal_approves_and_the_record_shows_who_did_what(client, legal, legal2):
    disclosure = under_review(legal, [make_client()])
    client.force_login(legal2)
    response = client.post(step_url(disclosure, "approve"), {"reason": "Valid warrant, data named"})
    assert response.status_code == 302
    page = shown(client.get(change_url(disclosure)))
    assert "Approved" in page and "Valid warrant, data named" in page
    assert "legal@example.com" in page and "legal2@example.com" in page
    assert step_url(disclosure, "disclose") in page and step_url(disclosure, "approve") not in page


def test_a_foreign_authority_shows_the_prc_approval_requirement_and_approval_needs_its_reference(client, legal, legal2):
    disclosure = under_review(legal, [make_client()], country="US")
    client.force_login(legal2)
    page = shown(client.get(step_url(disclosure, "approve")))
    assert "PRC approval is required (PIPL Art. 41)" in page and 'name="prc_approval_reference"' in page
    assert "PIPL Art. 41" in shown(client.get(change_url(disclosure)))

    response = client.post(step_url(disclosure, "approve"), {"reason": "US subpoena"})
    assert response.status_code == 200 and "give the reference of the PRC approval" in shown(response)
    assert Disclosure.objects.get(pk=disclosure.pk).status == Status.UNDER_REVIEW

    client.post(step_url(disclosure, "approve"), {"reason": "US subpoena", "prc_approval_reference": "MOJ-2026-7"})
    approved = Disclosure.objects.get(pk=disclosure.pk)
    assert approved.status == Status.APPROVED and approved.prc_approval_reference == "MOJ-2026-7"


def test_a_domestic_authority_needs_no_prc_approval_field(client, legal, legal2):
    disclosure = under_review(legal, [make_client()], country="CN")
    client.force_login(legal2)
    page = shown(client.get(step_url(disclosure, "approve")))
    assert 'name="prc_approval_reference"' not in page and "PIPL Art. 41" not in page


def test_a_rejection_needs_a_reason(client, legal, legal2):
    disclosure = under_review(legal, [make_client()])
    client.force_login(legal2)
    response = client.post(step_url(disclosure, "reject"), {"reason": "  "})
    assert response.status_code == 200 and "Say why the request is rejected." in shown(response)
    client.post(step_url(disclosure, "reject"), {"reason": "No legal basis"})
    assert Disclosure.objects.get(pk=disclosure.pk).status == Status.REJECTED


def test_marking_disclosed_records_what_each_client_received(client, legal, legal2):
    owner, other = make_client(), make_client("other@example.com", country="FR", phone="+33 6 12 34 56 78")
    disclosure = under_review(legal, [owner, other])
    disclosure_approve(disclosure=disclosure, reviewer=legal2, reason="Valid warrant")
    client.force_login(legal2)
    page = shown(client.get(step_url(disclosure, "disclose")))
    assert f'name="client_{owner.pk}"' in page and f'name="client_{other.pk}"' in page

    response = client.post(step_url(disclosure, "disclose"), {f"client_{owner.pk}": ["name", "phone", "shipping_address"],
                                                              f"client_{other.pk}": ["name"]})
    assert response.status_code == 302
    disclosed = dict(DisclosureSubject.objects.filter(disclosure=disclosure).values_list("client_id", "categories_disclosed"))
    assert disclosed == {owner.pk: ["name", "phone", "shipping_address"], other.pk: ["name"]}
    assert Disclosure.objects.get(pk=disclosure.pk).status == Status.PARTIALLY_DISCLOSED


def test_marking_disclosed_with_nothing_ticked_is_refused_on_the_form(client, legal, legal2):
    disclosure = under_review(legal, [make_client()])
    disclosure_approve(disclosure=disclosure, reviewer=legal2, reason="Valid warrant")
    client.force_login(legal2)
    response = client.post(step_url(disclosure, "disclose"), {})
    assert response.status_code == 200 and "Say what was disclosed" in shown(response)
    assert Disclosure.objects.get(pk=disclosure.pk).status == Status.APPROVED


# --- After disclosure, notes and documents ------------------------------------------------------------------------


@pytest.fixture
def disclosed(legal, legal2):
    owner = make_client()
    disclosure = under_review(legal, [owner])
    disclosure_approve(disclosure=disclosure, reviewer=legal2, reason="Valid warrant")
    return disclosure_mark_disclosed(disclosure=disclosure, actor=legal2,
                                     disclosed={owner.pk: ["name", "phone", "shipping_address"]})


def test_a_disclosed_record_has_no_editable_field_and_a_post_changes_nothing(client, legal, disclosed):
    client.force_login(legal)
    page = shown(client.get(change_url(disclosed)))
    form = page.split('id="disclosure_form"', 1)[1].split("</form>", 1)[0]
    assert not re.search(r'<(input|select|textarea)(?![^>]*type="hidden")', form)
    assert "Shenzhen Public Security Bureau" in form and "Phone number" in form  # shown as text
    response = client.post(change_url(disclosed), request_form([], reference_number="CHANGED", authority_name="Someone"))
    assert response.status_code == 403
    assert Disclosure.objects.get(pk=disclosed.pk).reference_number == "SZ-2026-0042"


def test_a_correction_after_disclosure_is_an_appended_note_with_author_and_time(client, legal, disclosed):
    client.force_login(legal)
    response = client.post(reverse("admin:disclosures_disclosure_note_add", args=[disclosed.pk]),
                           {"text": "The phone number handed over was the old one."})
    assert response.status_code == 302 and response["Location"] == change_url(disclosed, "#disclosure-notes")
    note = DisclosureNote.objects.get(disclosure=disclosed)
    assert note.author == legal and note.at is not None
    page = shown(client.get(change_url(disclosed)))
    assert "The phone number handed over was the old one." in page and "legal@example.com" in page
    assert Disclosure.objects.get(pk=disclosed.pk).status == Status.DISCLOSED


def test_an_empty_note_is_refused_with_a_message(client, legal, disclosed):
    client.force_login(legal)
    response = client.post(reverse("admin:disclosures_disclosure_note_add", args=[disclosed.pk]), {"text": " "})
    assert "The note was not added" in said(response) and not DisclosureNote.objects.exists()


def test_legal_uploads_the_request_and_it_is_listed_with_a_download_link(client, legal):
    disclosure = record(legal, [make_client()])
    client.force_login(legal)
    response = client.post(reverse("admin:disclosures_disclosure_document_add", args=[disclosure.pk]),
                           {"kind": "request", "file": SimpleUploadedFile("Warrant 17.pdf", PDF)})
    document = DisclosureDocument.objects.get(disclosure=disclosure)
    assert response.status_code == 302 and document.uploaded_by == legal and document.original_name == "Warrant 17.pdf"
    assert "Warrant 17" not in document.file.name  # no personal data in file paths
    page = shown(client.get(change_url(disclosure)))
    assert reverse("admin:disclosures_disclosure_document", args=[disclosure.pk, document.pk]) in page


@pytest.mark.parametrize("name, content, expected", [
    ("warrant.docx", b"PK\x03\x04 word document", "Upload a PDF, PNG or JPEG file"),
    ("warrant.pdf", b"MZ\x90\x00 not really a pdf", "not a real PDF file"),
    ("warrant.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024), "larger than 10 MB"),
])
def test_a_document_of_the_wrong_type_or_size_is_refused(client, legal, name, content, expected):
    disclosure = record(legal, [make_client()])
    client.force_login(legal)
    response = client.post(reverse("admin:disclosures_disclosure_document_add", args=[disclosure.pk]),
                           {"kind": "request", "file": SimpleUploadedFile(name, content)})
    assert expected in said(response) and not DisclosureDocument.objects.exists()


def test_documents_are_downloaded_by_staff_who_read_disclosures_only(client, legal, privacy_officer, support_agent):
    disclosure = record(legal, [make_client()])
    document = disclosure_document_add(disclosure=disclosure, kind="request", upload=SimpleUploadedFile("w.pdf", PDF),
                                       uploaded_by=legal)
    url = reverse("admin:disclosures_disclosure_document", args=[disclosure.pk, document.pk])
    client.force_login(privacy_officer)
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF
    assert "attachment" in response["Content-Disposition"]
    client.force_login(support_agent)
    assert client.get(url).status_code == 403
    client.logout()
    response = client.get(url)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


# --- Who sees what ------------------------------------------------------------------------------------------------


def test_a_support_agent_cannot_see_disclosures_at_all(client, legal, support_agent):
    disclosure = record(legal, [make_client()])
    client.force_login(support_agent)
    assert client.get(reverse(CHANGELIST)).status_code == 403
    assert client.get(change_url(disclosure)).status_code == 403
    assert client.get(step_url(disclosure, "submit")).status_code == 403
    assert "Disclosures" not in shown(client.get(reverse("admin:index")))


def test_a_privacy_officer_reads_disclosures_but_cannot_change_or_decide(client, legal, privacy_officer):
    disclosure = under_review(legal, [make_client()])
    client.force_login(privacy_officer)
    assert "SZ-2026-0042" in shown(client.get(reverse(CHANGELIST)))
    page = shown(client.get(change_url(disclosure)))
    form = page.split('id="disclosure_form"', 1)[1].split("</form>", 1)[0]
    assert "Shenzhen Public Security Bureau" in form
    assert not re.search(r'<(input|select|textarea)(?![^>]*type="hidden")', form)
    assert step_url(disclosure, "approve") not in page and 'name="text"' not in page and 'name="file"' not in page
    assert client.post(step_url(disclosure, "approve"), {"reason": "Fine"}).status_code == 403
    add_url = reverse("admin:disclosures_disclosure_add")
    assert client.post(add_url, request_form([make_client("x@example.com")])).status_code == 403
    assert Disclosure.objects.get(pk=disclosure.pk).status == Status.UNDER_REVIEW and Disclosure.objects.count() == 1


def test_the_record_page_shows_the_legal_hold_of_each_client(client, legal):
    owner = make_client()
    disclosure = record(legal, [owner])
    record(legal, [owner], reference="ANOTHER")
    client.force_login(legal)
    page = shown(client.get(change_url(disclosure)))
    assert "On hold: 2 open requests keep this client" in page and str(owner.public_id) in page
