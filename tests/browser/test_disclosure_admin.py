import re

import pytest
from playwright.sync_api import expect

from accounts.services import staff_user_ensure
from disclosures.models import Disclosure
from tests.conftest import PASSWORD, make_client

from .a11y import admin_log_in_fill

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def admin_log_in(page, email):
    page.context.clear_cookies()
    page.goto("/admin/login/")
    admin_log_in_fill(page, email)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#user-tools")).to_contain_text(email)


def choose_client_by_search(page, term, shown_as):
    page.locator(".field-clients .select2-selection").click()
    page.locator(".select2-search__field").fill(term)
    page.locator(".select2-results__option", has_text=shown_as).click()


def test_legal_records_a_request_choosing_the_client_by_search_and_a_second_lawyer_approves_it(page, csp_violations):
    staff_user_ensure(email="legal@demo.test", password=PASSWORD, groups=["Legal"])
    staff_user_ensure(email="legal2@demo.test", password=PASSWORD, groups=["Legal"])
    make_client("other@example.com", country="FR", phone="+33 6 12 34 56 78", full_name="Other Person")
    owner = make_client("li.na@example.com", country="CN", phone="+86 138 0013 8000", full_name="Li Na")

    admin_log_in(page, "legal@demo.test")
    page.goto("/admin/disclosures/disclosure/add/")
    page.locator("#id_authority_name").fill("Shenzhen Public Security Bureau")
    page.locator("#id_authority_kind").select_option("police")
    page.locator("#id_authority_country").select_option("CN")
    page.locator("#id_request_type").select_option("warrant")
    page.locator("#id_reference_number").fill("SZ-2026-0042")
    page.locator("#id_received_on").fill("2026-11-20")
    page.get_by_label("Name", exact=True).check()
    page.get_by_label("Phone number", exact=True).check()
    choose_client_by_search(page, "+8613800138000", "Li Na <li.na@example.com>")
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.locator(".disclosure-status")).to_have_text("Received")
    page.get_by_role("link", name="Submit for review…").click()
    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator(".disclosure-status")).to_have_text("Under review")

    admin_log_in(page, "legal2@demo.test")
    page.goto("/admin/disclosures/disclosure/")
    page.get_by_role("link", name="SZ-2026-0042").click()
    page.get_by_role("link", name="Approve…").click()
    page.get_by_label("Why the request is lawful").fill("Valid warrant naming the data")
    page.get_by_role("button", name="Approve", exact=True).click()

    expect(page.locator(".disclosure-status")).to_have_text("Approved")
    trail = page.locator("#disclosure-audit-trail")
    expect(trail).to_contain_text("legal@demo.test")
    expect(trail).to_contain_text("legal2@demo.test")
    expect(trail).to_contain_text("Under review → Approved")
    disclosure = Disclosure.objects.get(reference_number="SZ-2026-0042")
    assert list(disclosure.subjects.values_list("client_id", flat=True)) == [owner.pk]
    assert disclosure.recorded_by.email == "legal@demo.test" and disclosure.reviewed_by.email == "legal2@demo.test"
    assert re.search(r"/admin/disclosures/disclosure/\d+/change/", page.url)
    assert csp_violations == []
