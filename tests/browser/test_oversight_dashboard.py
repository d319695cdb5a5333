"""The dashboard in Debian's Chromium: reached from the admin index, drawn under the strict CSP, usable on a phone."""

import os
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.services import staff_user_ensure
from amendments.services import notice_period, policy_draft_save, policy_publish
from consent.models import Purpose
from consent.services import consent_record
from rights.services import request_open
from sharing.models import Affiliate
from sharing.services import affiliate_save, sharing_records_write
from tests.conftest import PASSWORD, make_client

from .a11y import admin_log_in_fill

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_privacy_officer_opens_the_dashboard_from_the_admin_index(page, csp_violations):
    staff_user_ensure(email="officer@demo.test", password=PASSWORD, groups=["Privacy officers"])
    owner = make_client("li.na@example.com", country="CN", phone="+86 138 0013 8000", full_name="Li Na")
    marketing = Purpose.objects.get(code="marketing-messages")
    consent_record(client=owner, purpose=marketing, action="grant", channel="portal")
    consent_record(client=owner, purpose=marketing, action="withdraw", channel="portal")
    request_open(kind="access", channel="portal", client=owner, received_at=timezone.now() - timedelta(days=3))
    other = make_client("other@example.com", country="DE", phone="", full_name="Other Person")
    sharing = Purpose.objects.get(code="promotional-sharing")
    consent_record(client=other, purpose=sharing, action="grant", channel="portal")
    consent_record(client=other, purpose=sharing, action="withdraw", channel="gpc")
    partner = affiliate_save(affiliate=Affiliate(name="Partner Logistics Co.", kind="dropship-partner", country="US",
                                                 contact_name="P", contact_email="p@example.com",
                                                 transfer_mechanism="eu-scc", transfer_mechanism_reference="SCC-1"))
    sharing_records_write(affiliate=partner, purpose=sharing, fields=["email"], client_ids=[owner.pk, other.pk],
                          api_key=None, request_id=uuid.uuid4(), at=timezone.now())
    published_at = timezone.now() - notice_period(material=False)  # in force now, announced in time
    policy_publish(version=policy_draft_save(label="9.0", body_en="Text.", summary=""),
                   effective_at=published_at + notice_period(material=False), now=published_at)

    page.goto("/admin/login/")
    admin_log_in_fill(page, "officer@demo.test")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Privacy dashboard").click()

    expect(page.get_by_role("heading", name="Privacy dashboard", level=1)).to_be_visible()
    expect(page.get_by_role("img", name="Withdrawals per week, by channel")).to_be_visible()
    expect(page.get_by_role("heading", name="Opt-outs per channel", level=2)).to_be_visible()
    page.locator("#opt-outs summary").click()
    expect(page.get_by_role("table", name="Opt-outs per channel")).to_contain_text("1")
    # The charts' colours come from oversight.css: a bar drawn without it would be black.
    fill = page.locator("#requests-due rect.oversight-chart__segment").first.evaluate(
        "rect => getComputedStyle(rect.ownerSVGElement.querySelector('pattern rect')).fill")
    assert fill not in ("", "rgb(0, 0, 0)")

    if os.environ.get("OVERSIGHT_SCREENSHOT"):
        page.locator("details").evaluate_all("all => all.forEach(d => d.open = true)")
        page.screenshot(path=os.environ["OVERSIGHT_SCREENSHOT"] + ".desktop.png", full_page=True)
        for index, figure in enumerate(page.locator("figure").all()):
            figure.screenshot(path=os.environ["OVERSIGHT_SCREENSHOT"] + f".figure{index}.png")
    page.set_viewport_size({"width": 375, "height": 800})
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    if os.environ.get("OVERSIGHT_SCREENSHOT"):
        page.screenshot(path=os.environ["OVERSIGHT_SCREENSHOT"], full_page=True)
    assert overflow <= 0
    assert csp_violations == []
