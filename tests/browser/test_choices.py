import json
import re

import pytest
from django.utils import formats, timezone
from playwright.sync_api import expect

from consent.models import Channel, ConsentEvent, ConsentState
from notify.models import OutboundMessage
from tests.conftest import PASSWORD, make_client

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PROMO = "Promotional sharing with affiliated companies"


@pytest.fixture
def enqueued(monkeypatch):
    """What the portal hands to Celery after commit, kept here instead of reaching Redis (a worker test covers delivery)."""
    ids = []
    monkeypatch.setattr("notify.services._enqueue", ids.extend)
    return ids


def log_in(page, email):
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/portal/$"))


def shown_time(event):
    return formats.date_format(timezone.localtime(event.occurred_at), "DATETIME_FORMAT")


def message_time(event):
    return f"{shown_time(event)} ({timezone.get_current_timezone_name()})"


def test_client_withdraws_and_gives_consent_again_in_one_click_each_and_downloads_a_receipt(page, enqueued):
    client = make_client("ca@example.com", country="US", region="US-CA", phone="+14155552671", full_name="Cali Client")
    log_in(page, "ca@example.com")

    page.get_by_role("link", name="Review your choices").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your choices")
    promo = page.get_by_role("region", name=PROMO)
    expect(promo.locator(".badge")).to_have_text("Granted")

    page.get_by_role("button", name=f"Withdraw consent: {PROMO}", exact=True).click()
    withdrawal = ConsentEvent.objects.filter(client=client).latest("sequence")
    expect(page.get_by_role("status")).to_contain_text(
        f"Your consent to “{PROMO}” was withdrawn at {message_time(withdrawal)}. A receipt was sent to your email.")
    expect(promo.locator(".badge")).to_have_text("Withdrawn")
    expect(promo).to_contain_text(f"Last changed {shown_time(withdrawal)} · Channel: Portal")

    page.get_by_role("button", name=f"Give consent: {PROMO}", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(f"Your consent to “{PROMO}” was given at")
    expect(promo.locator(".badge")).to_have_text("Granted")
    expect(page.get_by_role("button", name=f"Withdraw consent: {PROMO}", exact=True)).to_be_visible()

    events = list(ConsentEvent.objects.filter(client=client, channel=Channel.PORTAL).select_related("personal")
                  .order_by("sequence"))
    assert [e.action for e in events] == ["withdraw", "grant"]
    assert all(e.personal.ip_address == "127.0.0.1" and "Chrome" in e.personal.user_agent for e in events)
    assert ConsentState.objects.get(client=client, purpose__code="promotional-sharing").granted is True
    receipts = OutboundMessage.objects.filter(kind="consent-receipt", client=client)
    assert receipts.count() == 2 and sorted(enqueued) == sorted(receipts.values_list("pk", flat=True))

    page.get_by_role("link", name="Your consent history and receipts").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your consent history")
    newest = page.get_by_role("row").nth(1)
    expect(newest).to_contain_text(PROMO)
    expect(newest).to_contain_text("Granted")
    with page.expect_download() as download_info:
        newest.get_by_role("link", name=re.compile("^Download receipt")).click()
    download = download_info.value
    assert download.suggested_filename == f"consent-receipt-{events[-1].receipt_id}.json"
    with open(download.path(), encoding="utf-8") as file:
        receipt = json.load(file)
    assert receipt["consentReceiptID"] == str(events[-1].receipt_id)
    assert receipt["collectionMethod"] == "Portal" and receipt["eventType"] == "consent given"
