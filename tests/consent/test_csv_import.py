from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.services import staff_user_ensure
from consent.imports import consent_import_apply, consent_import_decode, consent_import_preview
from consent.models import Channel, ConsentAction, ConsentEvent, ConsentState, Purpose
from tests.conftest import PASSWORD, make_client

pytestmark = pytest.mark.django_db

IMPORT_URL = "admin:consent_consentevent_import"
HEADER = "client,purpose,channel,received,reference"


@pytest.fixture
def californian(db):
    return make_client("ca@example.com", country="US", region="US-CA", phone="+14155552671", full_name="Cal Client")


@pytest.fixture
def legal_user(db):
    return staff_user_ensure(email="legal@example.com", password=PASSWORD, groups=["Legal"])


def day(offset=-2):
    return (timezone.localdate() + timedelta(days=offset)).isoformat()


def csv_text(*rows):
    return "\n".join([HEADER, *rows]) + "\n"


def mixed_file(owner, californian):
    return csv_text(
        f"CA@example.com,promotional-sharing,letter,{day()},LTR-1",          # 2 valid, by email in any case
        f"{owner.public_id},marketing-messages,email,{day()},TICKET-7",       # 3 valid, by client ID
        f"nobody@example.com,promotional-sharing,letter,{day()},LTR-2",      # 4
        f"ca@example.com,newsletter-pigeons,letter,{day()},LTR-3",            # 5
        f"ca@example.com,order-fulfilment,letter,{day()},LTR-4",              # 6
        "ca@example.com,promotional-sharing,letter,25/12/2024,LTR-5",         # 7
        f"ca@example.com,promotional-sharing,letter,{day(+3)},LTR-6",         # 8
        f"ca@example.com,promotional-sharing,letter,{day()},",                # 9
        f"ca@example.com,promotional-sharing,fax,{day()},LTR-7",              # 10
        f"ca@example.com,promotional-sharing,letter,{day()},LTR-1",           # 11 duplicate of line 2
        f"ca@example.com,promotional-sharing,letter,{day()},LTR-8,extra",     # 12
    )


EXPECTED_ERRORS = {
    4: "unknown client “nobody@example.com”",
    5: "unknown purpose “newsletter-pigeons”",
    6: "“order-fulfilment” does not rest on consent",
    7: "bad date “25/12/2024”",
    8: "is in the future",
    9: "missing reference",
    10: "bad channel “fax”",
    11: "duplicate of line 2",
    12: "too many columns",
}


def upload(client, text, name="optouts.csv"):
    return client.post(reverse(IMPORT_URL), {"file": SimpleUploadedFile(name, text.encode() if isinstance(text, str) else text)})


def confirm(client, preview_response):
    return client.post(reverse(IMPORT_URL), {"payload": preview_response.context["confirm"].initial["payload"]})


def csv_events():
    return ConsentEvent.objects.filter(idempotency_key__isnull=False, channel__in=[Channel.EMAIL, Channel.LETTER])


def test_the_preview_gives_each_invalid_rows_reason_and_records_nothing(client, privacy_officer, owner, californian):
    client.force_login(privacy_officer)
    response = upload(client, mixed_file(owner, californian))
    page = response.content.decode()
    outcomes = {row.line: row for row in response.context["outcomes"]}
    assert outcomes[2].message == "will withdraw" and outcomes[3].message == "will withdraw"
    for line, reason in EXPECTED_ERRORS.items():
        assert reason in outcomes[line].message, line
        assert reason in page
    assert not csv_events().exists()


def test_applying_records_withdrawals_for_the_valid_rows_only(client, privacy_officer, owner, californian):
    client.force_login(privacy_officer)
    response = confirm(client, upload(client, mixed_file(owner, californian)))

    summary = response.context["summary"]
    assert (summary.applied, summary.already_recorded, summary.skipped) == (2, 0, len(EXPECTED_ERRORS))
    assert "Applied: 2 withdrawals recorded." in response.content.decode()
    letter = csv_events().get(client=californian)
    assert (letter.action, letter.channel, letter.recorded_by) == (ConsentAction.WITHDRAW, Channel.LETTER, privacy_officer)
    assert letter.personal.evidence_reference == "LTR-1" and letter.personal.evidence_received_on.isoformat() == day()
    assert csv_events().get(client=owner).purpose.code == "marketing-messages"
    assert csv_events().count() == 2
    assert ConsentState.objects.get(client=californian, purpose__code="promotional-sharing").granted is False


def test_importing_the_same_file_twice_records_nothing_the_second_time(client, privacy_officer, owner, californian):
    client.force_login(privacy_officer)
    text = mixed_file(owner, californian)
    confirm(client, upload(client, text))
    before = ConsentEvent.objects.count()

    again = upload(client, text)
    valid = [row for row in again.context["outcomes"] if row.is_valid]
    assert [row.message for row in valid] == ["already recorded — nothing to do"] * 2
    assert 'name="payload"' not in again.content.decode()  # nothing to confirm
    summary = consent_import_apply(text=text, recorded_by=privacy_officer)
    assert (summary.applied, summary.already_recorded) == (0, 2)
    assert ConsentEvent.objects.count() == before


@pytest.mark.parametrize("content, message", [
    (b"email,purpose,channel,date,reference\nca@example.com,promotional-sharing,letter,2024-01-01,X\n",
     "The first line must be the header “client,purpose,channel,received,reference”"),
    (b"", "The submitted file is empty."),
    (b"client,purpose,channel,received,reference\n", "The file has a header but no rows."),
    ("client,purpose,channel,received,reference\nçà@example.com,x,letter,2024-01-01,X\n".encode("latin-1"),
     "The file is not UTF-8 text"),
])
def test_a_bad_file_is_one_clear_error(client, privacy_officer, content, message):
    client.force_login(privacy_officer)
    page = upload(client, content).content.decode()
    assert message in page
    assert 'name="payload"' not in page


def test_files_over_the_row_and_size_limits_are_refused(californian):
    rows = [f"ca@example.com,promotional-sharing,letter,{day()},LTR-{n}" for n in range(10_001)]
    with pytest.raises(ValidationError, match="more than 10,000 rows"):
        consent_import_preview(text=csv_text(*rows))
    with pytest.raises(ValidationError, match="larger than 2 MB"):
        consent_import_decode(data=b"x" * (2 * 1024 * 1024 + 1))


def test_a_spreadsheet_byte_order_mark_and_blank_lines_are_accepted(client, privacy_officer, californian):
    client.force_login(privacy_officer)
    text = "\ufeff" + csv_text("", f"ca@example.com,promotional-sharing,email,{day()},MAIL-1", "")
    response = upload(client, text)
    assert [row.message for row in response.context["outcomes"]] == ["will withdraw"]


def test_an_altered_preview_is_refused(client, privacy_officer, californian):
    client.force_login(privacy_officer)
    preview = upload(client, csv_text(f"ca@example.com,promotional-sharing,letter,{day()},LTR-1"))
    payload = preview.context["confirm"].initial["payload"]
    response = client.post(reverse(IMPORT_URL), {"payload": payload[:-3] + "abc"}, follow=True)
    assert "The preview could not be verified" in response.content.decode()
    assert not csv_events().exists()


def test_a_preview_signed_for_another_user_is_refused(client, privacy_officer, californian):
    other = staff_user_ensure(email="privacy2@example.com", password=PASSWORD, groups=["Privacy officers"])
    client.force_login(privacy_officer)
    preview = upload(client, csv_text(f"ca@example.com,promotional-sharing,letter,{day()},LTR-1"))
    client.force_login(other)
    confirm(client, preview)
    assert not csv_events().exists()


def test_only_privacy_officers_may_import(client, support_agent, legal_user, outsider, privacy_officer, californian):
    text = csv_text(f"ca@example.com,promotional-sharing,letter,{day()},LTR-1")
    for user in (support_agent, legal_user):
        client.force_login(user)
        assert client.get(reverse(IMPORT_URL)).status_code == 403
        assert upload(client, text).status_code == 403
    client.force_login(outsider.user)
    response = upload(client, text)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.force_login(privacy_officer)
    assert reverse(IMPORT_URL) in client.get(reverse("admin:consent_consentevent_changelist")).content.decode()
    assert not csv_events().exists()


def test_a_purpose_that_cannot_be_withdrawn_is_reported(californian):
    Purpose.objects.filter(code="marketing-messages").update(withdrawable=False)
    [row] = consent_import_preview(text=csv_text(f"ca@example.com,marketing-messages,letter,{day()},LTR-1"))
    assert row.message == "purpose “marketing-messages” cannot be withdrawn"
