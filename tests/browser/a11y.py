"""Shared by the accessibility tests: axe-core in the page, visible keyboard focus, the portal's demo data."""

import re
import uuid
from datetime import date, timedelta

from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from playwright.sync_api import expect

from accounts.models import User
from accounts.services import staff_user_ensure
from accounts.two_factor import staff_totp_device_ensure
from amendments.services import notice_period, policy_draft_save, policy_publish
from consent.models import Purpose
from consent.services import consent_record
from disclosures.services import disclosure_approve, disclosure_mark_disclosed, disclosure_record, disclosure_submit_for_review
from sharing.models import Affiliate
from sharing.services import affiliate_save, agreement_create, sharing_records_write
from tests.conftest import PASSWORD, make_client
from tests.processing.helpers import assessments_approve
from transparency_log.checkpoints import checkpoint_publish

# The main pages, by URL name: those anyone sees, those a logged-in client sees; the diff compares the two versions.
PUBLIC = ["home", "login", "policy:current", "policy:diff", "transparency:report", "cookies", "rights:public_request_new",
          "consent_log:about"]
CLIENT = ["portal:dashboard", "consent:choices", "consent:history", "sharing:received", "rights:data", "rights:export"]
QUERIES = {"policy:diff": "?from=1.0&to=2.0"}

WCAG_A_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = {"serious", "critical"}
_axe = Axe()  # the axe.min.js that axe-playwright-python ships; evaluated through DevTools, so the page's CSP allows it


def axe_violations(page) -> list[dict]:
    """Serious and critical WCAG 2.1 A/AA violations on the page as it is now."""
    results = _axe.run(page, options={"runOnly": {"type": "tag", "values": WCAG_A_AA}, "resultTypes": ["violations"]})
    return [v for v in results.response["violations"] if v["impact"] in BLOCKING]


def axe_report(where: str, violations: list[dict]) -> str:
    lines = []
    for v in violations:
        targets = "; ".join(" ".join(node["target"]) if isinstance(node["target"], list) else str(node["target"])
                            for node in v["nodes"][:8])
        lines.append(f"{where}: {v['id']} ({v['impact']}) at {targets} — {v['help']} {v['helpUrl']}")
    return "\n".join(lines)


def focus_is_visible(page) -> bool:
    """The focused element draws a focus indicator: a non-zero outline or a box-shadow."""
    return page.evaluate("""() => {
        const el = document.activeElement;
        if (!el || el === document.body) return false;
        const style = getComputedStyle(el);
        const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
        return outline || (style.boxShadow && style.boxShadow !== 'none');
    }""")


def focused(page) -> dict:
    """What has the keyboard focus: its tag, id and text (a field's value), for assertions and failure messages."""
    return page.evaluate("""() => {
        const el = document.activeElement;
        return {tag: el.tagName.toLowerCase(), id: el.id, text: (el.innerText || el.value || '').trim()};
    }""")


def tab_to(page, matches, *, limit=60, backwards=False) -> dict:
    """Press Tab (or Shift+Tab) until `matches(focused)` holds, checking each stop shows its focus."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        now = focused(page)
        assert focus_is_visible(page), f"focus is not visible on {now}"
        if matches(now):
            return now
    raise AssertionError(f"no focusable element matched within {limit} Tab presses; last was {focused(page)}")


def log_in_any_language(page, email):
    """The log-in form by its field ids, so that it works whatever the page's language."""
    page.goto(reverse("login"))
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(re.escape(reverse("portal:dashboard")) + "$"))


def staff_totp_token(email) -> str:
    """The staff login's current TOTP code, as their authenticator app shows it (the device is created if need be).
    The device forgets the last code it took, so that a test may log the same person in twice within 30 seconds."""
    device = staff_totp_device_ensure(User.objects.get(email__iexact=email))
    device.last_t = -1
    device.save(update_fields=["last_t"])
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift)
    return f"{code:0{device.digits}d}"


def admin_log_in_fill(page, email, password=PASSWORD):
    """Fill the admin's log-in form (on the page already) by its field ids: both factors, the password and the code."""
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(password)
    page.locator("#id_otp_token").fill(staff_totp_token(email))


def published_policy(label, body, *, effective_in_days, **fields):
    effective_at = timezone.now() + timedelta(days=effective_in_days)
    draft = policy_draft_save(label=label, body_en=body, **fields)
    return policy_publish(version=draft, effective_at=effective_at, now=min(timezone.now(), effective_at - notice_period()))


def portal_with_data():
    """A client with choices, recipients and two policy versions; an authority request in last year's report."""
    owner = make_client("audited@example.com", country="CN", phone="+86 138 0013 8000", full_name="Li Audited")
    sharing = Purpose.objects.get(code="promotional-sharing")
    marketing = Purpose.objects.get(code="marketing-messages")
    consent_record(client=owner, purpose=marketing, action="grant", channel="portal")
    checkpoint_publish()  # the history shows events in the public consent log and one still waiting for it
    consent_record(client=owner, purpose=marketing, action="withdraw", channel="portal")
    partner = affiliate_save(affiliate=Affiliate(name="Partner Logistics Co.", kind="dropship-partner", country="US",
                                                 contact_name="P", contact_email="p@example.com",
                                                 transfer_mechanism="eu-scc", transfer_mechanism_reference="SCC-1"))
    sharing_records_write(affiliate=partner, purpose=sharing, fields=["email", "name"], client_ids=[owner.pk],
                          api_key=None, request_id=uuid.uuid4(), at=timezone.now() - timedelta(days=2))
    # A named recipient abroad for promotional sharing: "Your choices" lists it with its own consent (issue #18).
    ads = affiliate_save(affiliate=Affiliate(
        name="Ads Network Ltd.", kind="affiliated-company", country="HK", contact_name="A", contact_email="a@ads.example",
        address="1 Queensway, Hong Kong", rights_contact="https://ads.example/privacy",
        transfer_mechanism="pipl-standard-contract", transfer_mechanism_reference="SC-1"))
    assessments_approve(recipient=ads, purpose=sharing)  # PIPL Art. 55: before its first agreement
    agreement_create(affiliate=ads, purpose=sharing, fields=["email"], valid_from=timezone.now() - timedelta(days=1))
    published_policy("1.0", "# Privacy policy\n\nWe collect your name and email.\n\nWe share your IP address.",
                     effective_in_days=-60)
    published_policy("2.0", "# Privacy policy\n\nWe collect your name and email.\n\nWe share nothing for promotions.",
                     effective_in_days=-10, summary="Promotions end.")
    legal = staff_user_ensure(email="legal@example.com", password=PASSWORD, groups=["Legal"])
    legal2 = staff_user_ensure(email="legal2@example.com", password=PASSWORD, groups=["Legal"])
    last_year = timezone.localdate().year - 1
    for month, outcome in [(2, "disclosed"), (3, "under-review"), (9, "disclosed")]:
        disclosure = disclosure_record(recorded_by=legal, clients=[owner], authority_name="Shenzhen Public Security Bureau",
                                       authority_country="CN", authority_kind="police", request_type="warrant",
                                       reference_number=f"SZ-{month}", received_on=date(last_year, month, 10),
                                       categories_requested=["name"])
        disclosure = disclosure_submit_for_review(disclosure=disclosure, actor=legal)
        if outcome == "disclosed":
            disclosure = disclosure_approve(disclosure=disclosure, reviewer=legal2, reason="Valid",
                                            prc_approval_reference="MOJ-1")
            disclosure_mark_disclosed(disclosure=disclosure, actor=legal2, disclosed={owner.pk: ["name"]})
    return owner
