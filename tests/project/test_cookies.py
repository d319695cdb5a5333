"""The cookie page is true: it lists every cookie the portal sets, and the portal sets no other."""

import logging

import pytest
from django.http import HttpResponse
from django.test import Client as Browser
from django.test import RequestFactory
from django.urls import reverse

from fulfillmen.cookies import Cookie, UndeclaredCookieMiddleware, declared_cookies, non_essential_cookies_need_an_opt_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

DECLARED = {c.name for c in declared_cookies()}


def _journey(browser, owner) -> list:
    """A visitor reads the public pages, switches language, logs in, changes a choice, looks around, logs out,
    and sends a request without an account: every response on the way."""
    responses = [browser.get(url) for url in ("/", reverse("policy:current"), reverse("transparency:report"),
                                             reverse("cookies"), reverse("login"), reverse("rights:public_request_new"))]
    responses.append(browser.post(reverse("set_language"), {"language": "zh-hans", "next": "/"}))
    responses.append(browser.post(reverse("set_language"), {"language": "en", "next": "/"}))
    responses.append(browser.post(reverse("login"), {"username": owner.email, "password": "wrong password"}))
    responses.append(browser.post(reverse("login"), {"username": owner.email, "password": PASSWORD}))
    for url in (reverse("portal:dashboard"), reverse("consent:choices"), reverse("consent:history"),
                reverse("sharing:received"), reverse("rights:data")):
        responses.append(browser.get(url))
    responses.append(browser.post(reverse("consent:change", args=["marketing-messages"]), {"action": "withdraw"},
                                  follow=True))
    responses.append(browser.post(reverse("logout")))
    responses.append(browser.post(reverse("rights:public_request_new"), {"email": "not an address"}))
    return responses


def test_the_portal_sets_only_declared_cookies_along_a_whole_journey(owner, caplog):
    browser = Browser(enforce_csrf_checks=False)
    with caplog.at_level(logging.ERROR, logger="fulfillmen.cookies"):
        responses = _journey(browser, owner)
    set_names = {name for r in responses for name in r.cookies}
    assert not [rec.getMessage() for rec in caplog.records], "a cookie was set that fulfillmen/cookies.py does not declare"
    assert set_names <= DECLARED
    # The journey did meet the cookies it should (the test would prove nothing otherwise).
    assert {"sessionid", "csrftoken", "django_language", "messages"} <= set_names | set(browser.cookies)


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
