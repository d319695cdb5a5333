"""The CSV import as an upload (issue #10): whatever file arrives — binary, oversized, with NUL characters, any text
in any cell — the admin page answers with a preview or one clear error, never a 5xx, and nothing is imported before
the confirm step; confirming imports exactly the rows the preview said it would. Extends tests/consent/test_csv_import.py
(which covers the header, encoding, row and size limits of the service)."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consent.imports import HEADER, MAX_BYTES, consent_import_apply, consent_import_preview
from consent.models import Channel, ConsentEvent
from rights.erasure import erasure_perform, erasure_request

from .test_csv_import import confirm, csv_text, day, upload

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"


def csv_events():
    return ConsentEvent.objects.filter(channel__in=[Channel.EMAIL, Channel.LETTER])


def refused_with(response, message: str):
    assert response.status_code == 200
    page = response.content.decode()
    assert message in page, page[:2000]
    assert 'name="payload"' not in page  # nothing to confirm
    assert not csv_events().exists()


@pytest.mark.parametrize("name, content, message", [
    ("optouts.png", PNG, "The file is not UTF-8 text"),
    ("optouts.csv", csv_text(f"ca@example.com,promotional-sharing,letter,{day()},LTR\x00-1").encode(),
     "The file is not a valid CSV file (line 2: NUL character)"),
    ("optouts.csv", b"\x00" * 64, "The file is not a valid CSV file (line 1: NUL character)"),
    ("optouts.xlsx", b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xff\xfe binary workbook", "The file is not UTF-8 text"),
])
def test_a_binary_file_is_one_clear_error_and_imports_nothing(client, privacy_officer, owner, name, content, message):
    client.force_login(privacy_officer)
    refused_with(upload(client, content, name=name), message)


def test_a_file_over_two_megabytes_uploaded_to_the_page_is_refused_and_imports_nothing(client, privacy_officer, owner):
    client.force_login(privacy_officer)
    row = f"owner@example.com,promotional-sharing,letter,{day()},LTR-1\n".encode()
    content = csv_text().encode() + row * (MAX_BYTES // len(row) + 1)
    assert len(content) > MAX_BYTES
    refused_with(upload(client, content), "The file is larger than 2 MB")


def test_a_row_for_an_erased_client_is_an_error_not_a_new_event_in_their_ledger(privacy_officer, owner, settings,
                                                                                   tmp_path):
    settings.MEDIA_ROOT = tmp_path
    request = erasure_request(client=owner, actor=owner.user)
    erasure_perform(request=request, now=request.scheduled_for + timedelta(minutes=1))
    owner.refresh_from_db()
    before = ConsentEvent.objects.filter(client=owner).count()
    for reference in (owner.email, str(owner.public_id)):
        text = csv_text(f"{reference},promotional-sharing,letter,{day()},LTR-1")
        [row] = consent_import_preview(text=text)
        assert row.message == "This client's data has already been erased."
        assert consent_import_apply(text=text, recorded_by=privacy_officer).applied == 0
    assert ConsentEvent.objects.filter(client=owner).count() == before


# Any cell: unicode, control characters, long text, commas and quotes (which the CSV writer must escape), or a
# plausible value, so that valid rows occur among the broken ones.
def _cells(owner_email):
    return st.tuples(
        st.one_of(st.sampled_from([owner_email, owner_email.upper(), "nobody@example.com"]), st.text(max_size=40)),
        st.one_of(st.sampled_from(["promotional-sharing", "marketing-messages", "order-fulfilment"]), st.text(max_size=20)),
        st.one_of(st.sampled_from(["letter", "email", "LETTER"]), st.text(max_size=10)),
        st.one_of(st.sampled_from([day(), day(-400), day(+2), "2024-02-30"]), st.text(max_size=12)),
        st.one_of(st.sampled_from(["LTR-1", "MAIL-2"]), st.text(min_size=0, max_size=250)),
    )


def _as_csv(rows) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue()


@settings(max_examples=30, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_file_content_gets_a_preview_or_a_clear_error_and_confirming_imports_what_the_preview_said(
        client, privacy_officer, owner, data):
    text = _as_csv(data.draw(st.lists(_cells(owner.email), min_size=1, max_size=6)))
    client.force_login(privacy_officer)
    with transaction.atomic():
        before = csv_events().count()
        preview = upload(client, text)
        assert preview.status_code == 200
        assert csv_events().count() == before, "a preview imported something"
        if "confirm" not in preview.context:
            form = preview.context["form"]
            assert form.errors["file"] and all(message.strip() for message in form.errors["file"])
        else:
            will = sum(row.status == "withdraw" for row in preview.context["outcomes"])
            done = confirm(client, preview)
            assert done.status_code == 200, done.status_code
            assert done.context["summary"].applied == will
            assert csv_events().count() == before + will
        transaction.set_rollback(True)

