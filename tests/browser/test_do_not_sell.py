"""The footer's "Do Not Sell or Share My Personal Information", in a real browser (CCPA 1798.135; 11 CCR 7013)."""

import re

import pytest
from playwright.sync_api import expect

from consent.models import Channel, ConsentEvent, ConsentState
from tests.conftest import PASSWORD, make_client

from .a11y import axe_report, axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LINK = "Do Not Sell or Share My Personal Information"
PROMO = "Promotional sharing with affiliated companies"


@pytest.fixture
def enqueued(monkeypatch):
    """What the portal hands to Celery after commit, kept here instead of reaching Redis."""
    ids = []
    monkeypatch.setattr("notify.services._enqueue", ids.extend)
    return ids


def test_a_client_follows_the_footer_link_and_opts_out_with_one_button_and_no_password(page, enqueued):
    client = make_client("ca@example.com", country="US", region="US-CA", phone="+14155552671", full_name="Cali Client")
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill("ca@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/portal/$"))

    page.get_by_role("contentinfo").get_by_role("link", name=LINK).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(LINK)
    expect(page.get_by_role("heading", name=PROMO)).to_be_visible()
    assert page.locator('input[type="password"]').count() == 0
    violations = axe_violations(page)
    assert not violations, axe_report("do-not-sell", violations)

    page.get_by_role("button", name="Do not sell or share my personal information").click()
    expect(page.get_by_role("status")).to_contain_text("we no longer sell or share your personal information")
    expect(page.get_by_text("You are opted out: we do not sell or share your personal information.")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Channel: Do Not Sell or Share link")
    assert ConsentState.objects.get(client=client, purpose__code="promotional-sharing").granted is False
    assert len(enqueued) == 1  # the receipt

    page.get_by_role("button", name="Do not sell or share my personal information").click()
    expect(page.get_by_role("status")).to_contain_text("nothing new was recorded")
    assert ConsentEvent.objects.filter(client=client, channel=Channel.DO_NOT_SELL).count() == 1
