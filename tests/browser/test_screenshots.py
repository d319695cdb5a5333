"""Screenshots of the main pages, in English and Simplified Chinese, at desktop and phone width (issue #8).

One realistic client (a Chinese and a Latin name, two addresses, two IP addresses, a consent history with a
withdrawal, records of who received their data, a disclosure shown and one withheld) and a policy with a material
change coming, so every page has content. The pictures go to <dir>/<lang>/<page>[-phone].jpg — test-artifacts/screenshots
in a test run, docs/screenshots (which docs/design.md shows) with `make screenshots`; each phone page must fit the
phone's width (wide tables scroll inside their own region).
"""

import os
import shutil
import subprocess
import uuid
from datetime import date, timedelta
from pathlib import Path

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Address, IPObservation, Language
from accounts.services import address_add, ip_observation_record, staff_user_ensure
from amendments.services import notice_period, policy_draft_save, policy_publish
from consent.models import Channel, Purpose
from consent.services import consent_record
from disclosures.services import (
    disclosure_approve,
    disclosure_mark_disclosed,
    disclosure_record,
    disclosure_reject,
    disclosure_submit_for_review,
)
from rights.services import request_open
from sharing.models import Affiliate
from sharing.services import affiliate_save, agreement_create, sharing_records_write
from tests.conftest import PASSWORD, make_client
from tests.processing.helpers import assessments_approve

from .a11y import admin_log_in_fill

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# A test run writes under test-artifacts/ (not in git); `make screenshots` renews the committed ones in docs/screenshots.
SCREENSHOTS = Path(os.environ.get("SCREENSHOTS_DIR") or Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots")
LANGUAGES = {"en": "en", "zh-hans": "zh-hans"}  # folder: language code
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
MAX_BYTES = 400 * 1024
MAX_HEIGHT = 2400
CLIENT_EMAIL = "meilin.chen@example.com"
OFFICER_EMAIL = "privacy@example.com"

# (file name, address): anyone's pages, the client's pages (both also at phone width), the privacy officer's page.
PUBLIC_PAGES = [("home", "/"), ("login", "/accounts/login/"), ("policy", "/policy/"),
                ("policy-diff", "/policy/diff/?from=1.0&to=2.0"), ("transparency", "/transparency/"),
                ("cookies", "/cookies/")]
CLIENT_PAGES = [("dashboard", "/portal/"), ("choices", "/portal/choices/"), ("history", "/portal/choices/history/"),
                ("received", "/portal/received/"), ("data", "/portal/data/")]
NEW_CLIENT_EMAIL = "new.client@example.com"
EMPTY_PAGES = [("dashboard-empty", "/portal/"), ("received-empty", "/portal/received/")]  # a client who just signed up
OFFICER_PAGES = [("oversight", "/admin/oversight/")]

POLICY_DIR = Path(__file__).resolve().parents[2] / "amendments" / "seed"
V1_EN = (POLICY_DIR / "policy-1.0.en.md").read_text()
V1_ZH = (POLICY_DIR / "policy-1.0.zh-hans.md").read_text()
V2_EN = V1_EN.replace(
    "- **Affiliated companies** receive your IP address and email for promotions, only while you allow it.",
    "- **Affiliated companies** receive your email for promotions, only while you allow it. They no longer receive "
    "your IP address.",
) + "\n## Keeping your data\nWe delete order data seven years after your last order, as tax law requires.\n"
V2_ZH = V1_ZH.replace("**关联公司**仅在您允许期间收到您的 IP 地址和电子邮箱用于推广。",
                      "**关联公司**仅在您允许期间收到您的电子邮箱用于推广，不再收到您的 IP 地址。") + (
    "\n## 数据保存期限\n按照税法要求，我们在您最后一笔订单七年后删除订单数据。\n")


@pytest.fixture
def enqueued(monkeypatch):
    """Receipts and notices are handed to Celery after commit; kept here instead (worker tests cover delivery)."""
    ids = []
    monkeypatch.setattr("notify.services._enqueue", ids.extend)
    return ids


def publish(label, *, en, zh, effective_in_days, material=False, summary=""):
    effective_at = timezone.now() + timedelta(days=effective_in_days)
    draft = policy_draft_save(label=label, body_en=en, body_zh_hans=zh, is_material=material, summary=summary)
    return policy_publish(version=draft, effective_at=effective_at, now=min(timezone.now(), effective_at - notice_period()))


def partner(name, *, kind, country, purpose, fields):
    abroad = {} if country == "CN" else {"transfer_mechanism": "pipl-standard-contract", "transfer_mechanism_reference": "SC-1"}
    affiliate = affiliate_save(affiliate=Affiliate(name=name, kind=kind, country=country, contact_name="Privacy team",
                                                   contact_email=f"privacy@{name.split()[0].lower()}.example", **abroad))
    assessments_approve(recipient=affiliate, purpose=purpose)  # PIPL Art. 55: before its first agreement
    agreement_create(affiliate=affiliate, purpose=purpose, fields=list(fields), valid_from=timezone.now() - timedelta(days=90))
    return affiliate


def disclose(client, legal, legal2, *, authority, reference, withhold_until=None):
    disclosure = disclosure_record(recorded_by=legal, clients=[client], authority_name=authority, authority_country="CN",
                                   authority_kind="police", request_type="warrant", reference_number=reference,
                                   received_on=timezone.localdate() - timedelta(days=9), categories_requested=["name", "phone"],
                                   withhold_until=withhold_until,
                                   withhold_reference="Court order 2026/881" if withhold_until else "")
    disclosure = disclosure_submit_for_review(disclosure=disclosure, actor=legal)
    disclosure = disclosure_approve(disclosure=disclosure, reviewer=legal2, reason="Valid warrant naming the data")
    return disclosure_mark_disclosed(disclosure=disclosure, actor=legal2, disclosed={client.pk: ["name", "phone"]})


# Requests from authorities in the last two half-years that have ended, for the transparency report (a group of
# five or more is shown exactly): (half-years back, authority, country, kind, legal process, how many, how many refused)
PAST_REQUESTS = [
    (1, "Shenzhen Public Security Bureau", "CN", "police", "warrant", 6, 2),
    (1, "Shenzhen Intermediate People's Court", "CN", "court", "court-order", 2, 0),
    (1, "Hamburg Public Prosecutor", "DE", "court", "subpoena", 1, 1),
    (2, "Guangzhou Customs", "CN", "tax-customs", "regulatory", 5, 1),
    (2, "Shenzhen Public Security Bureau", "CN", "police", "emergency", 1, 0),
]


def last_ended_half_year() -> date:
    today = timezone.localdate()
    return date(today.year - 1, 7, 1) if today.month <= 6 else date(today.year, 1, 1)


def past_requests(clients, legal, legal2):
    start = last_ended_half_year()
    n = 0
    for back, authority, country, kind, process, count, refused in PAST_REQUESTS:
        half_start = start if back == 1 else date(start.year - 1, 7, 1) if start.month == 1 else date(start.year, 1, 1)
        for i in range(count):
            client, n = clients[n % len(clients)], n + 1
            disclosure = disclosure_record(recorded_by=legal, clients=[client], authority_name=authority,
                                           authority_country=country, authority_kind=kind, request_type=process,
                                           reference_number=f"R-{n:03d}", received_on=half_start + timedelta(days=10 + 25 * i),
                                           categories_requested=["name", "phone"])
            disclosure = disclosure_submit_for_review(disclosure=disclosure, actor=legal)
            if i < refused:
                disclosure_reject(disclosure=disclosure, reviewer=legal2, reason="Not specific enough")
                continue
            disclosure = disclosure_approve(disclosure=disclosure, reviewer=legal2, reason="Valid and specific")
            disclosure_mark_disclosed(disclosure=disclosure, actor=legal2, disclosed={client.pk: ["name"]})


def build_world():
    """The policy first (so publishing notifies nobody), then the client's history, oldest first."""
    now = timezone.now()
    publish("1.0", en=V1_EN, zh=V1_ZH, effective_in_days=-120,
            summary="The privacy policy in plain words, with every promise checkable in the portal.")
    publish("2.0", en=V2_EN, zh=V2_ZH, effective_in_days=31, material=True,
            summary="Affiliated companies no longer receive your IP address; we say how long we keep order data.")
    staff_user_ensure(email=OFFICER_EMAIL, password=PASSWORD, groups=["Privacy officers"])
    legal = staff_user_ensure(email="legal@example.com", password=PASSWORD, groups=["Legal"])
    legal2 = staff_user_ensure(email="legal2@example.com", password=PASSWORD, groups=["Legal"])
    promo, marketing = Purpose.objects.get(code="promotional-sharing"), Purpose.objects.get(code="marketing-messages")

    with time_machine.travel(now - timedelta(days=75)):
        client = make_client(CLIENT_EMAIL, country="CN", phone="+86 138 0013 8000", full_name="陈美玲 (Mei Lin Chen)",
                             preferred_language=Language.ZH_HANS)
        others = [make_client(f"client{n}@example.com", country=country, phone=phone, full_name=name)
                  for n, (country, phone, name) in enumerate([("DE", "+49 151 23456789", "Jonas Weber"),
                                                              ("US", "+1 415 555 2671", "Ana Ruiz"),
                                                              ("CN", "+86 139 0013 9000", "王伟")])]
        address_add(client=client, kind=Address.Kind.RESIDENTIAL, country="CN", line1="深圳市南山区科苑路9号",
                    line2="A座1808室", city="深圳", region="广东", postcode="518057")
        address_add(client=client, kind=Address.Kind.OFFICE, country="US", line1="1200 Market Street", line2="Suite 5B",
                    city="San Francisco", region="CA", postcode="94102")
        ip_observation_record(client=client, ip_address="203.0.113.24", context=IPObservation.Context.SIGNUP)
    with time_machine.travel(now - timedelta(days=60)):
        for person in [client, *others]:
            consent_record(client=person, purpose=promo, action="grant", channel=Channel.PORTAL, ip_address="203.0.113.24",
                           user_agent="Mozilla/5.0")
        consent_record(client=client, purpose=marketing, action="grant", channel=Channel.PORTAL, ip_address="203.0.113.24",
                       user_agent="Mozilla/5.0")
    with time_machine.travel(now - timedelta(days=12)):
        ip_observation_record(client=client, ip_address="2001:db8:85a3::8a2e:370:7334", context=IPObservation.Context.LOGIN)
        consent_record(client=client, purpose=promo, action="withdraw", channel=Channel.PORTAL,
                       ip_address="2001:db8:85a3::8a2e:370:7334", user_agent="Mozilla/5.0 (iPhone)")
        consent_record(client=others[0], purpose=promo, action="withdraw", channel=Channel.EMAIL)

    ads = partner("Harbour Ads Network", kind=Affiliate.Kind.AFFILIATED_COMPANY, country="HK", purpose=promo,
                  fields=("ip_address", "email"))
    dropship = partner("Pearl River Dropship", kind=Affiliate.Kind.DROPSHIP_PARTNER, country="CN",
                       purpose=Purpose.objects.get(code="order-fulfilment"), fields=("name", "phone", "shipping_address"))
    everyone = [client.pk, *(o.pk for o in others)]
    for days_ago, affiliate, fields in [(50, ads, ["email", "ip_address"]), (30, ads, ["email", "ip_address"]),
                                        (20, dropship, ["name", "phone", "shipping_address"]),
                                        (3, dropship, ["name", "phone", "shipping_address"])]:
        sharing_records_write(affiliate=affiliate, purpose=Purpose.objects.get(pk=affiliate.agreements.first().purpose_id),
                              fields=fields, client_ids=everyone, api_key=None, request_id=uuid.uuid4(),
                              at=now - timedelta(days=days_ago))
    disclose(client, legal, legal2, authority="Shenzhen Public Security Bureau", reference="SZ-2026-0042")
    disclose(others[2], legal, legal2, authority="Shanghai Customs", reference="SH-2026-0107",
             withhold_until=timezone.localdate() + timedelta(days=45))
    past_requests(others, legal, legal2)
    with time_machine.travel(now - timedelta(hours=1)):
        make_client(NEW_CLIENT_EMAIL, country="GB", phone="", full_name="Oliver Bennett")
    request_open(kind="export", channel="portal", client=client)
    request_open(kind="question", channel="email", client=others[1], details="Which partners received my address?")
    return client


def fits_the_width(page) -> bool:
    return page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth")


def shoot(page, folder: Path, name: str) -> Path:
    path = folder / f"{name}.jpg"  # JPEG: a fraction of the PNG's size, text still readable
    height = min(page.evaluate("document.scrollingElement.scrollHeight"), MAX_HEIGHT)  # long pages: their top part
    page.screenshot(path=str(path), full_page=True, scale="css", animations="disabled", type="jpeg", quality=70,
                    clip={"x": 0, "y": 0, "width": page.viewport_size["width"], "height": height})
    assert path.stat().st_size > 0
    return path


def context_for(browser, live_server, language, viewport, *, phone=False):
    context = browser.new_context(base_url=live_server.url, viewport=viewport, is_mobile=phone, has_touch=phone,
                                  device_scale_factor=2 if phone else 1, locale="zh-CN" if language == "zh-hans" else "en-GB")
    context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(15_000)
    return context, page


def log_in(page, email, *, staff=False):
    page.goto("/admin/login/" if staff else "/accounts/login/")
    if staff:
        admin_log_in_fill(page, email)
    else:
        page.locator("input[name=username]").fill(email)
        page.locator("input[name=password]").fill(PASSWORD)
    page.locator("main form button[type=submit], #login-form [type=submit]").first.click()
    expect(page.locator("input[name=password]")).to_have_count(0)


def log_in_again(page, live_server, language, email, *, staff=False):
    page.context.clear_cookies()
    page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    log_in(page, email, staff=staff)


def visit(page, address, language):
    page.goto(address)
    expect(page.locator("html")).to_have_attribute("lang", language)


def change_marketing_consent(page):
    """One click on "Your choices": the confirmation message shows in the screenshot."""
    page.locator("#purpose-marketing-messages form button[type=submit]").click()
    expect(page.locator(".messages .success")).to_be_visible()


def chinese_font_installed() -> bool:
    if not shutil.which("fc-list"):
        return False
    return bool(subprocess.run(["fc-list", ":lang=zh-cn", "family"], capture_output=True, text=True).stdout.strip())


def shoot_pages(page, language, folder, pages, *, phone) -> tuple[list[Path], list[str]]:
    """Each page, full length; on a phone, also whether it fits the width. Returns (files, pages too wide)."""
    written, too_wide = [], []
    for name, address in pages:
        visit(page, address, language)
        if name == "choices" and not phone:
            change_marketing_consent(page)
        written.append(shoot(page, folder, name + ("-phone" if phone else "")))
        if phone and not fits_the_width(page):
            too_wide.append(f"{folder.name}/{name}")
    return written, too_wide


def test_screenshots_of_the_main_pages_in_both_languages_at_desktop_and_phone_width(browser, live_server, enqueued):
    if not chinese_font_installed():
        pytest.fail("The Chinese screenshots need a CJK font, or every character is a box: apt-get install fonts-noto-cjk.")
    build_world()
    written, too_wide = [], []
    for folder_name, language in LANGUAGES.items():
        folder = SCREENSHOTS / folder_name
        folder.mkdir(parents=True, exist_ok=True)
        for phone, viewport in [(False, DESKTOP), (True, PHONE)]:
            context, page = context_for(browser, live_server, language, viewport, phone=phone)
            try:
                visits = [(None, PUBLIC_PAGES), (CLIENT_EMAIL, CLIENT_PAGES)]
                if not phone:
                    visits += [(NEW_CLIENT_EMAIL, EMPTY_PAGES), (OFFICER_EMAIL, OFFICER_PAGES)]
                for email, pages in visits:
                    if email:
                        log_in_again(page, live_server, language, email, staff=email == OFFICER_EMAIL)
                    files, wide = shoot_pages(page, language, folder, pages, phone=phone)
                    written += files
                    too_wide += wide
            finally:
                context.close()

    assert too_wide == [], f"pages wider than a phone: {too_wide}"
    expected = {SCREENSHOTS / lang / f"{name}{suffix}.jpg" for lang in LANGUAGES
                for name, _ in PUBLIC_PAGES + CLIENT_PAGES for suffix in ("", "-phone")}
    expected |= {SCREENSHOTS / lang / f"{name}.jpg" for lang in LANGUAGES for name, _ in OFFICER_PAGES + EMPTY_PAGES}
    assert set(written) == expected
    for path in expected:
        assert 0 < path.stat().st_size <= MAX_BYTES, path
