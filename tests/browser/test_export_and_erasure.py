"""A client downloads everything held about them, then asks for erasure — in Chromium, keyboard and mouse as a user."""

import json
import re
import zipfile

import pytest
from django.core import mail
from playwright.sync_api import expect

from rights.models import DataExport, DataSubjectRequest
from tests.conftest import PASSWORD, make_client

from .test_choices import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_client_exports_their_data_then_asks_for_erasure_and_can_still_cancel(page, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    owner = make_client("leaving@example.com", full_name="Leaving Client")
    log_in(page, "leaving@example.com")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Your data", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your data")
    page.get_by_role("link", name="Download a copy of your data").click()
    page.get_by_label("Your password").fill("not my password")
    page.get_by_role("button", name="Prepare my file").click()
    expect(page.locator(".errorlist, .form-errors").first).to_contain_text("That is not your password")
    assert not DataExport.objects.exists()

    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Prepare my file").click()
    expect(page.get_by_role("status").first).to_contain_text("We are preparing your export")
    [export] = DataExport.objects.filter(client=owner, status=DataExport.Status.READY)
    [email] = [m for m in mail.outbox if "leaving@example.com" in m.to and str(export.public_id) in m.body]
    link = re.search(r"https?://\S+(/portal/data/exports/\S+/)", email.body).group(1)

    with page.expect_download() as download_info:
        page.evaluate("url => { const a = document.createElement('a'); a.href = url; document.body.appendChild(a); a.click(); }",
                      link)
    archive = tmp_path / "export.zip"
    download_info.value.save_as(archive)
    with zipfile.ZipFile(archive) as bundle:
        data = json.loads(bundle.read("data.json"))
    assert "leaving@example.com" in json.dumps(data) and "Leaving Client" in json.dumps(data)

    page.goto("/portal/data/")
    page.get_by_role("link", name="Erase your data").click()
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Erase my data").click()
    expect(page.get_by_role("status").first).to_contain_text("Your data will be erased on")
    erasure = DataSubjectRequest.objects.get(client=owner, kind="erasure")
    assert erasure.status == "scheduled"

    page.get_by_role("button", name="Cancel the erasure").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").first).to_contain_text("The erasure is cancelled")
    erasure.refresh_from_db()
    owner.refresh_from_db()
    assert erasure.status == "cancelled" and owner.erased_at is None
