"""The body of "Erase your data" is kept rendered (rights/erasure_page.py) while its version — read in one
statement before the page's queries — stays the same: a scheduled erasure, a cancellation, a hold set or released
each shows on the very next visit; Legal's work on a disclosure under a non-disclosure requirement changes nothing a
client could notice until the requirement passes; a form sent back with an error is rendered as it was sent; the
CSRF token is the visitor's own; another client never gets the owner's page."""

import re
from datetime import date, timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client as Browser
from django.urls import reverse
from django.utils import timezone

from accounts.page_fragments import fragment_key
from accounts.services import staff_user_ensure
from disclosures.models import Disclosure
from disclosures.services import disclosure_record
from rights.erasure_page import FRAGMENT
from rights.models import LegalHold
from rights.services import legal_hold_set
from tests.conftest import PASSWORD
from tests.kept_pages import kept_visit

pytestmark = pytest.mark.django_db
ERASE = reverse("rights:erase")
HELD = "Your data cannot be erased now: the law requires us to keep it"


def visit(browser):
    return kept_visit(browser, ERASE)


def kept(owner):
    return cache.get(fragment_key(name=FRAGMENT, owner_id=owner.pk, language="en"))


@pytest.fixture
def seen(client, owner):
    """The owner logged in, the page visited once (IP observation recorded) and kept by a second visit."""
    client.force_login(owner.user)
    visit(client)
    visit(client)
    return client


def test_a_second_visit_is_the_same_page_from_three_statements(seen, owner):
    first, _ = visit(seen)
    page, statements = visit(seen)
    assert page == first and "Ask for erasure" in page and kept(owner) is not None
    assert statements == 3  # session, user with client, the version


def test_a_scheduled_erasure_and_its_cancellation_show_at_once(seen, owner):
    assert seen.post(ERASE, {"password": PASSWORD}).status_code == 302
    page = visit(seen)[0]
    assert "Your data will be erased on" in page and owner.email in page and "Ask for erasure" not in page
    cancel = re.search(r'action="(/portal/data/erase/[0-9a-f-]+/cancel/)"', page).group(1)
    assert seen.post(cancel).status_code == 302
    page = visit(seen)[0]
    assert "Ask for erasure" in page and "Your data will be erased on" not in page


def test_a_hold_set_changed_behind_the_orm_and_released_shows_at_once(seen, owner, privacy_officer):
    hold = legal_hold_set(client=owner, reason="Tax audit of 2025 shipments.", keep_until=date(2030, 6, 30),
                          actor=privacy_officer)
    page = visit(seen)[0]
    assert HELD in page and "Tax audit of 2025 shipments." in page and "Ask for erasure" not in page
    LegalHold.objects.filter(pk=hold.pk).update(reason="Customs audit.")  # no signal, no save()
    assert "Customs audit." in visit(seen)[0]
    LegalHold.objects.filter(pk=hold.pk).update(released_at=timezone.now())
    page = visit(seen)[0]
    assert HELD not in page and "Ask for erasure" in page


def test_legal_editing_a_withheld_disclosure_changes_nothing_until_the_requirement_passes(seen, owner):
    legal = staff_user_ensure(email="legal@example.com", password=PASSWORD, groups=["Legal"])
    disclosure = disclosure_record(recorded_by=legal, clients=[owner], authority_name="Gagged Bureau",
                                   authority_country="CN", authority_kind="police", request_type="warrant",
                                   reference_number="GB-1", received_on=timezone.localdate(),
                                   categories_requested=["email"], withhold_until=timezone.localdate() + timedelta(days=30),
                                   withhold_reference="Court order 2026/881")
    held, _ = visit(seen)  # the hold reads as an ordinary legal obligation
    assert HELD in held and "Gagged Bureau" not in held
    stored = kept(owner)
    Disclosure.objects.filter(pk=disclosure.pk).update(authority_name="Renamed Bureau", request_type="subpoena")
    page, statements = visit(seen)
    assert (page, statements) == (held, 3) and kept(owner) == stored, "neither shown nor rendered again"
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        seen.force_login(owner.user)
        assert "Renamed Bureau" in visit(seen)[0]


def test_a_wrong_password_is_rendered_with_its_error_and_the_kept_page_stays(seen, owner):
    stored = kept(owner)
    response = seen.post(ERASE, {"password": "not-the-password"})
    assert response.status_code == 400 and "That is not your password." in response.content.decode()
    assert kept(owner) == stored and "That is not your password." not in visit(seen)[0]


def test_the_kept_form_carries_the_visitors_own_csrf_token(owner):
    def form_token(browser) -> str:
        page = browser.get(ERASE).content.decode()
        return re.search(r'<form method="post" action="/portal/data/erase/" novalidate>\s*'
                         r'<input type="hidden" name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)

    first, second = Browser(enforce_csrf_checks=True), Browser(enforce_csrf_checks=True)  # two sessions of the owner
    for browser in (first, second):
        browser.force_login(owner.user)
    form_token(first), form_token(first)
    assert kept(owner) is not None
    token = form_token(second)  # the kept body, with the second browser's own token put in
    assert second.post(ERASE, {"password": PASSWORD, "csrfmiddlewaretoken": token}).status_code == 302


def test_another_client_never_gets_the_owners_kept_page(seen, client, owner, outsider):
    client.force_login(outsider.user)
    page = visit(client)[0]
    assert str(owner.public_id) not in page and str(outsider.public_id) in page
