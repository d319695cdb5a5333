from datetime import datetime, time, timedelta

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.services import staff_user_ensure
from consent.models import Channel, ConsentAction, ConsentEvent, ConsentState, Purpose
from tests.conftest import PASSWORD, make_client

pytestmark = pytest.mark.django_db

RECORD_URL = "admin:consent_consentevent_record"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def legal_user(db):
    return staff_user_ensure(email="legal@example.com", password=PASSWORD, groups=["Legal"])


@pytest.fixture
def californian(db):
    """A client under the opt-out model: promotional sharing starts granted, so a withdrawal changes the state."""
    return make_client("ca@example.com", country="US", region="US-CA", phone="+14155552671", full_name="Cal Client")


def promo():
    return Purpose.objects.get(code="promotional-sharing")


def entry(**overrides):
    data = {"client": "ca@example.com", "purpose": promo().pk, "action": ConsentAction.WITHDRAW, "channel": Channel.LETTER,
            "received_on": (timezone.localdate() - timedelta(days=3)).isoformat(), "reference": "LTR-2025-0042",
            "reason": "Letter asks to stop sharing with affiliates.", "submission": "form-1"}
    return {**data, **overrides}


def test_support_agent_records_a_letter_with_its_scan_and_the_state_changes(client, support_agent, californian):
    client.force_login(support_agent)
    scan = SimpleUploadedFile("Cal Client opt-out.pdf", PDF, content_type="application/pdf")
    response = client.post(reverse(RECORD_URL), entry(scan=scan))

    event = ConsentEvent.objects.get(client=californian, channel=Channel.LETTER)
    assert response.status_code == 302 and response["Location"] == reverse("admin:consent_consentevent_change", args=[event.pk])
    assert event.recorded_by == support_agent and event.action == ConsentAction.WITHDRAW
    received = timezone.localdate() - timedelta(days=3)
    assert event.occurred_at == timezone.make_aware(datetime.combine(received, time.min))
    assert event.personal.evidence_reference == "LTR-2025-0042" and event.personal.evidence_received_on == received
    assert event.personal.evidence_file.read() == PDF and event.personal.evidence_sha256
    assert "Cal Client" not in event.personal.evidence_file.name  # no personal data in file paths
    assert ConsentState.objects.get(client=californian, purpose=promo()).granted is False
    assert "is now withdrawn" in " ".join(str(m) for m in get_messages(response.wsgi_request))


def test_privacy_officer_records_an_opt_in_received_by_email(client, privacy_officer, owner):
    client.force_login(privacy_officer)
    client.post(reverse(RECORD_URL), entry(client=str(owner.public_id), action=ConsentAction.GRANT, channel=Channel.EMAIL))
    event = ConsentEvent.objects.get(client=owner, channel=Channel.EMAIL)
    assert event.action == ConsentAction.GRANT and event.recorded_by == privacy_officer
    assert ConsentState.objects.get(client=owner, purpose=promo()).granted is True


def test_the_scan_can_be_downloaded_by_staff_who_read_the_ledger_only(client, support_agent, legal_user, californian, owner):
    client.force_login(support_agent)
    client.post(reverse(RECORD_URL), entry(scan=SimpleUploadedFile("scan.pdf", PDF)))
    event = ConsentEvent.objects.get(client=californian, channel=Channel.LETTER)
    url = reverse("admin:consent_consentevent_evidence", args=[event.pk])
    client.force_login(legal_user)
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF
    assert "attachment" in response["Content-Disposition"]
    client.force_login(owner.user)
    assert client.get(url).status_code == 302  # a client login is sent to the admin log-in


def test_a_legal_user_may_not_record_consent(client, legal_user, californian):
    client.force_login(legal_user)
    before = ConsentEvent.objects.count()
    assert client.get(reverse(RECORD_URL)).status_code == 403
    assert client.post(reverse(RECORD_URL), entry()).status_code == 403
    assert ConsentEvent.objects.count() == before


def test_a_client_login_is_refused(client, outsider, californian):
    client.force_login(outsider.user)
    before = ConsentEvent.objects.count()
    response = client.post(reverse(RECORD_URL), entry())
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert ConsentEvent.objects.count() == before


def test_an_unknown_client_email_is_a_clear_error_and_records_nothing(client, support_agent, californian):
    client.force_login(support_agent)
    before = ConsentEvent.objects.count()
    response = client.post(reverse(RECORD_URL), entry(client="nobody@example.com"))
    assert response.status_code == 200
    assert "No client has the email address or client ID “nobody@example.com”" in response.content.decode()
    assert ConsentEvent.objects.count() == before


@pytest.mark.parametrize("name, content, expected", [
    ("letter.docx", b"PK\x03\x04 word document", "Upload a PDF, PNG or JPEG file"),
    ("letter.pdf", b"MZ\x90\x00 not really a pdf", "not a real PDF file"),
])
def test_a_scan_that_is_not_a_pdf_png_or_jpeg_is_refused(client, support_agent, californian, name, content, expected):
    client.force_login(support_agent)
    before = ConsentEvent.objects.count()
    response = client.post(reverse(RECORD_URL), entry(scan=SimpleUploadedFile(name, content)))
    assert response.status_code == 200 and expected in response.content.decode()
    assert ConsentEvent.objects.count() == before
    assert ConsentState.objects.get(client=californian, purpose=promo()).granted is True


def test_a_scan_larger_than_five_megabytes_is_refused(client, support_agent, californian):
    client.force_login(support_agent)
    big = SimpleUploadedFile("scan.png", b"\x89PNG\r\n\x1a\n" + b"0" * (5 * 1024 * 1024))
    response = client.post(reverse(RECORD_URL), entry(scan=big))
    assert "larger than 5 MB" in response.content.decode()
    assert not ConsentEvent.objects.filter(client=californian, channel=Channel.LETTER).exists()


def test_a_date_received_in_the_future_and_a_missing_reference_are_refused(client, support_agent, californian):
    client.force_login(support_agent)
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    page = client.post(reverse(RECORD_URL), entry(received_on=tomorrow, reference="")).content.decode()
    assert "cannot be in the future" in page and "This field is required" in page
    assert not ConsentEvent.objects.filter(client=californian, channel=Channel.LETTER).exists()


def test_only_consent_purposes_can_be_chosen(client, support_agent, californian):
    client.force_login(support_agent)
    fulfilment = Purpose.objects.get(code="order-fulfilment")
    page = client.post(reverse(RECORD_URL), entry(purpose=fulfilment.pk)).content.decode()
    assert "Select a valid choice" in page
    assert not ConsentEvent.objects.filter(client=californian, channel=Channel.LETTER).exists()


def test_submitting_the_same_form_twice_records_one_event(client, support_agent, californian):
    client.force_login(support_agent)
    first = client.post(reverse(RECORD_URL), entry())
    second = client.post(reverse(RECORD_URL), entry())
    assert first["Location"] == second["Location"]
    assert ConsentEvent.objects.filter(client=californian, channel=Channel.LETTER).count() == 1
    client.post(reverse(RECORD_URL), entry(submission="form-2", reference="LTR-2025-0043"))  # a second letter
    assert ConsentEvent.objects.filter(client=californian, channel=Channel.LETTER).count() == 2


def test_the_entry_page_is_linked_from_the_ledger_and_has_no_inline_code(client, support_agent):
    client.force_login(support_agent)
    changelist = client.get(reverse("admin:consent_consentevent_changelist")).content.decode()
    assert reverse(RECORD_URL) in changelist
    assert reverse("admin:consent_consentevent_import") not in changelist  # support agents may not import
    page = client.get(reverse(RECORD_URL)).content.decode()
    assert '<label for="id_client">' in page and 'role="radiogroup" aria-labelledby="id_action_label"' in page
    assert "style=" not in page and "<style" not in page and "<script>" not in page
    assert 'id="content-main"' in page and "admin/css/forms.css" in page  # the admin look
