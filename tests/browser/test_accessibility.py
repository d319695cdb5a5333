"""axe-core (WCAG 2.1 A and AA) on the main pages, in English and in Simplified Chinese: no serious or critical issue."""

import pytest
from django.conf import settings
from django.urls import reverse
from playwright.sync_api import expect

from .a11y import CLIENT, PUBLIC, QUERIES, admin_log_in_fill, axe_report, axe_violations, log_in_any_language, portal_with_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def audit_here(page, where) -> list[str]:
    violations = axe_violations(page)
    return [axe_report(where, violations)] if violations else []


def audit(page, names) -> list[str]:
    problems = []
    for name in names:
        url = reverse(name) + QUERIES.get(name, "")
        response = page.goto(url)
        assert response.ok, f"{url}: {response.status}"
        problems += audit_here(page, url)
    return problems


def use_language(page, live_server, code):
    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": code, "url": live_server.url}])


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_main_pages_have_no_serious_or_critical_axe_violations(page, live_server, language):
    portal_with_data()
    use_language(page, live_server, language)

    problems = audit(page, PUBLIC)
    page.goto(reverse("rights:public_request_new"))
    page.locator("main form [type=submit]").click()  # sent empty: the form with its errors
    expect(page.locator("[aria-invalid=true]").first).to_be_visible()
    problems += audit_here(page, "request form with errors")
    page.goto(reverse("login"))
    expect(page.locator("html")).to_have_attribute("lang", language)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("main [role=alert]").first).to_be_visible()
    problems += audit_here(page, "log-in with errors")
    log_in_any_language(page, "audited@example.com")
    problems += audit(page, CLIENT + ["policy:current"])
    page.goto(reverse("consent:choices"))
    page.locator(".choice__form [type=submit]").first.click()
    expect(page.locator("[role=status] .messages")).to_be_visible()
    problems += audit_here(page, "choices with a confirmation")

    assert not problems, "\n" + "\n".join(problems)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_privacy_officer_dashboard_has_no_serious_or_critical_axe_violations(page, live_server, language, privacy_officer):
    portal_with_data()
    use_language(page, live_server, language)
    page.goto("/admin/login/")
    admin_log_in_fill(page, privacy_officer.email)
    page.locator("#login-form [type=submit]").click()
    expect(page.locator("#user-tools")).to_be_visible()

    problems = audit(page, ["oversight:dashboard"])
    page.locator("details.oversight-numbers").evaluate_all("all => all.forEach(d => d.open = true)")
    problems += audit_here(page, "oversight, numbers open")

    assert not problems, "\n" + "\n".join(problems)


def test_axe_runs_under_the_strict_csp_and_reports_what_it_should(page):
    """Guards the tests above against passing because axe never ran: an unlabelled field must be caught."""
    response = page.goto(reverse("home"))
    assert "script-src" in response.headers["content-security-policy"]
    page.locator("main").evaluate("main => main.append(Object.assign(document.createElement('input'), {type: 'text'}))")
    assert "label" in {v["id"] for v in axe_violations(page)}
