"""What the browser holds after a visit: only the cookies that fulfillmen/cookies.py declares (and the cookie page lists)."""

import pytest
from django.conf import settings
from django.urls import reverse
from playwright.sync_api import expect

from fulfillmen.cookies import declared_cookies

from .a11y import CLIENT, PUBLIC, QUERIES, log_in_any_language, portal_with_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_after_logging_in_switching_language_and_changing_a_choice_every_cookie_is_declared(page):
    portal_with_data()
    page.goto("/")
    page.locator("#language-select").select_option("zh-hans")
    page.locator(".lang-form [type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")

    log_in_any_language(page, "audited@example.com")

    page.goto(reverse("consent:choices"))
    page.locator(".choice__form [type=submit]").first.click()
    expect(page.locator("[role=status] .messages")).to_be_visible()
    for name in PUBLIC + CLIENT:
        page.goto(reverse(name) + QUERIES.get(name, ""))

    cookies = {cookie["name"] for cookie in page.context.cookies()}
    declared = {cookie.name for cookie in declared_cookies()}
    assert {settings.SESSION_COOKIE_NAME, settings.CSRF_COOKIE_NAME, settings.LANGUAGE_COOKIE_NAME} <= cookies
    assert cookies <= declared, f"undeclared cookies: {sorted(cookies - declared)}"
    page.goto(reverse("cookies"))
    for name in cookies:
        expect(page.locator("main")).to_contain_text(name)  # and the cookie page names each of them
