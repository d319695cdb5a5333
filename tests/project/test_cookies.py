"""The cookie page and the policy are true: they name every cookie the portal sets, and the portal sets no other."""

import logging
from datetime import timedelta
from pathlib import Path

import pytest
from django.http import HttpResponse
from django.test import Client as Browser
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from amendments.services import notice_period, policy_draft_save, policy_first_version_ensure, policy_publish
from fulfillmen.cookies import (
    Cookie,
    UndeclaredCookieMiddleware,
    declared_cookies,
    non_essential_cookies_need_an_opt_in,
    policy_cookie_mismatches,
    policy_names_the_cookies_the_portal_sets,
)
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

DECLARED = {c.name for c in declared_cookies()}


def _journey(browser, owner) -> list:
    """A visitor reads the public pages, switches language, logs in, changes a choice, looks around, logs out,
    and sends a request without an account: every response on the way."""
    responses = [browser.get(url) for url in ("/", reverse("policy:current"), reverse("transparency:report"),
                                             reverse("cookies"), reverse("login"), reverse("rights:public_request_new"),
                                             reverse("consent:do_not_sell"))]
    responses.append(browser.post(reverse("set_language"), {"language": "zh-hans", "next": "/"}))
    responses.append(browser.post(reverse("set_language"), {"language": "en", "next": "/"}))
    responses.append(browser.post(reverse("login"), {"username": owner.email, "password": "wrong password"}))
    responses.append(browser.post(reverse("login"), {"username": owner.email, "password": PASSWORD}))
    for url in (reverse("portal:dashboard"), reverse("consent:choices"), reverse("consent:history"),
                reverse("sharing:received"), reverse("rights:data")):
        responses.append(browser.get(url))
    responses.append(browser.post(reverse("consent:change", args=["marketing-messages"]), {"action": "withdraw"},
                                  follow=True))
    responses.append(browser.post(reverse("consent:do_not_sell_withdraw"), follow=True))
    responses.append(browser.post(reverse("logout")))
    responses.append(browser.post(reverse("rights:public_request_new"), {"email": "not an address"}))
    responses.append(browser.post(reverse("consent:do_not_sell_request"), {"email": "not an address"}))
    responses.append(browser.post(reverse("consent:do_not_sell_request"), {"email": "visitor@example.com"}, follow=True))
    return responses


def test_the_portal_sets_only_declared_cookies_along_a_whole_journey(owner, caplog):
    browser = Browser(enforce_csrf_checks=False)
    with caplog.at_level(logging.ERROR, logger="fulfillmen.cookies"):
        responses = _journey(browser, owner)
    set_names = {name for r in responses for name in r.cookies}
    assert not [rec.getMessage() for rec in caplog.records], "a cookie was set that fulfillmen/cookies.py does not declare"
    assert set_names <= DECLARED


def test_every_declared_cookie_is_set_somewhere_in_the_journey(owner):
    """A cookie declared (and so named by the policy and the cookie page) that the portal never sets is a false claim."""
    browser = Browser(enforce_csrf_checks=False)
    responses = _journey(browser, owner)
    set_names = {name for r in responses for name in r.cookies} | set(browser.cookies)
    assert DECLARED - set_names == set(), f"declared but never set: {sorted(DECLARED - set_names)}"


def test_a_cookie_nobody_declared_never_reaches_the_browser_and_is_reported(caplog):
    def view_with_tracker(request):
        response = HttpResponse("ok")
        response.set_cookie("tracker", "abc")
        response.set_cookie("sessionid", "key")
        return response

    with caplog.at_level(logging.ERROR, logger="fulfillmen.cookies"):
        response = UndeclaredCookieMiddleware(view_with_tracker)(RequestFactory().get("/somewhere/"))
    assert set(response.cookies) == {"sessionid"}
    assert "'tracker'" in caplog.text and "/somewhere/" in caplog.text


def test_a_cookie_that_is_not_strictly_necessary_is_refused_until_there_is_an_opt_in():
    assert non_essential_cookies_need_an_opt_in() == []  # today: only strictly necessary cookies
    errors = non_essential_cookies_need_an_opt_in(cookies=[Cookie("analytics", "Counts visits.", "1 year", False)])
    assert [e.id for e in errors] == ["fulfillmen.E001"] and "'analytics'" in errors[0].msg


def test_the_cookie_page_lists_each_cookie_with_purpose_lifetime_and_necessity_in_both_languages(client):
    page = client.get(reverse("cookies")).content.decode()
    for cookie in declared_cookies():
        assert f"<code>{cookie.name}</code>" in page
    assert "8 hours" in page and "1 year" in page and "until you close the browser" in page
    assert "Strictly necessary" in page and "Yes" in page
    chinese = client.get(reverse("cookies"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert '<html lang="zh-hans">' in chinese


SEED = Path(__file__).resolve().parents[2] / "amendments" / "seed"
CART_POLICY = """# Policy

## Cookies
We set `sessionid`, `csrftoken`, `django_language`, `messages` and `cart`, which keeps your shopping cart.

## Your rights
You can see your data.
"""


def test_policy_names_no_cookie_the_portal_does_not_set():
    """The texts seed_demo publishes as version 1.0, in both languages, name exactly the cookies the portal sets."""
    for path in sorted(SEED.glob("policy-*.md")):
        assert policy_cookie_mismatches(path.read_text()) == [], path.name
    policy_first_version_ensure(label="1.0", body_en=(SEED / "policy-1.0.en.md").read_text(),
                                body_zh_hans=(SEED / "policy-1.0.zh-hans.md").read_text(), summary="First.")
    assert policy_names_the_cookies_the_portal_sets(databases=["default"]) == []


def test_a_policy_in_force_that_names_a_cart_cookie_fails_the_check():
    now = timezone.now()
    policy_publish(version=policy_draft_save(label="2.0", body_en=CART_POLICY, summary="Cart."),
                   effective_at=now, now=now - notice_period(material=False))
    [warning] = policy_names_the_cookies_the_portal_sets(databases=["default"])
    assert warning.id == "fulfillmen.W002"
    assert "Policy version 2.0 (en): it names the cookie 'cart', which the portal never sets" in warning.msg
    assert policy_names_the_cookies_the_portal_sets() == []  # only `check --database …` reads the database


def test_an_upcoming_policy_that_leaves_out_a_cookie_the_portal_sets_fails_the_check():
    text = CART_POLICY.replace(", `messages` and `cart`, which keeps your shopping cart", " and `messages`")
    assert policy_cookie_mismatches(text) == []
    now = timezone.now()
    policy_publish(version=policy_draft_save(label="3.0", body_en=text.replace("`csrftoken`, ", ""), summary="Less."),
                   effective_at=now + timedelta(days=40), now=now)
    [warning] = policy_names_the_cookies_the_portal_sets(databases=["default"])
    assert "version 3.0 (en): it does not name the cookie 'csrftoken', which the portal sets" in warning.msg


def test_the_first_policys_cart_and_shipment_tracking_cookies_fail_the_comparison():
    """The text seed_demo published before issue #18: cookies described, none of them by a name the portal sets."""
    old = ("# Policy\n\n## Cookies\nWe set only a few cookies: to keep you logged in, remember your language, protect "
           "forms, and keep your shopping cart and shipment tracking working.\n")
    assert policy_cookie_mismatches(old) == [f"it does not name the cookie {name!r}, which the portal sets"
                                             for name in sorted(DECLARED)]
    assert policy_cookie_mismatches("# Policy\n\nNo word on cookies.") == ["it has no section about cookies"]
