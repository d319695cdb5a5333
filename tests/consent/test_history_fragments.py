"""The consent history's first page is kept rendered (consent/history_page.py) — and never shows anything stale,
anything of someone else, or anything of an erased client."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.keyset import cursor_seal
from accounts.page_fragments import DASHBOARD, fragment_key
from consent.history_page import FRAGMENT, history_fragments_forget
from consent.models import Channel, ConsentAction, ConsentEvent, ConsentState, Purpose
from consent.services import consent_record
from tests.conftest import make_client
from transparency_log.checkpoints import checkpoint_publish

pytestmark = pytest.mark.django_db

HISTORY = reverse("consent:history")


def promo():
    return Purpose.objects.get(code="promotional-sharing")


def change(client, times=1):
    for _ in range(times):
        granted = ConsentState.objects.get(client=client, purpose=promo()).granted
        consent_record(client=client, purpose=promo(), channel=Channel.PORTAL,
                       action=ConsentAction.WITHDRAW if granted else ConsentAction.GRANT)


def receipt_url(event):
    return reverse("consent:receipt", args=[event.receipt_id])


@pytest.fixture
def owner(db):
    return make_client("owner@example.com", country="US", region="US-CA", phone="+14155552671")


def visit(browser):
    with CaptureQueriesContext(connection) as queries:
        response = browser.get(HISTORY)
    assert response.status_code == 200
    page = response.content.decode()  # the main part: the header's CSRF token is masked anew on every response
    return page[page.index("<main"):page.index("</main>")], len(queries)


def test_a_second_visit_shows_the_same_page_without_reading_the_events_again(client, owner):
    change(owner, 3)
    client.force_login(owner.user)
    client.get(HISTORY)  # the first visit records the IP observation (and keeps the page)
    history_fragments_forget(client=owner)
    first, first_queries = visit(client)
    again, again_queries = visit(client)
    assert again == first
    # session, user with client (one statement: accounts/backends.py), the version of everything on the page: the
    # events and their log places are not read
    assert again_queries == 3 and again_queries < first_queries


def test_a_new_consent_event_shows_at_once(client, owner):
    client.force_login(owner.user)
    visit(client)
    change(owner)
    newest = ConsentEvent.objects.filter(client=owner).latest("sequence")
    assert receipt_url(newest) in visit(client)[0]


def test_a_new_checkpoint_shows_the_events_place_in_the_log_at_once(client, owner):
    change(owner)
    client.force_login(owner.user)
    assert "Included in the public log" not in visit(client)[0]
    checkpoint_publish()
    assert "Included in the public log at index" in visit(client)[0]


def test_a_renamed_purpose_shows_at_once(client, owner):
    change(owner)
    client.force_login(owner.user)
    visit(client)
    Purpose.objects.filter(pk=promo().pk).update(title_en="Sharing with partners, renamed")
    assert "Sharing with partners, renamed" in visit(client)[0]


def test_each_language_has_its_own_page(client, owner):
    change(owner)
    client.force_login(owner.user)
    english = visit(client)[0]
    client.cookies["django_language"] = "zh-hans"
    chinese = visit(client)[0]
    assert promo().title_zh_hans in chinese and promo().title_zh_hans not in english


def test_another_client_never_sees_the_kept_page(client, owner):
    other = make_client("other@example.com", country="US", region="US-CA", phone="+14155552672")
    change(owner, 2)
    client.force_login(owner.user)
    mine = visit(client)[0]
    client.force_login(other.user)
    theirs = visit(client)[0]
    assert all(receipt_url(e) not in theirs for e in ConsentEvent.objects.filter(client=owner))
    assert all(receipt_url(e) in theirs for e in ConsentEvent.objects.filter(client=other))
    assert all(receipt_url(e) not in mine for e in ConsentEvent.objects.filter(client=other))


def test_the_key_names_neither_the_client_nor_anything_on_the_page(client, owner):
    change(owner)
    client.force_login(owner.user)
    visit(client)
    key = fragment_key(name=FRAGMENT, owner_id=owner.pk, language="en")
    assert cache.get(key) is not None
    assert str(owner.pk) not in key.split(":") and str(owner.public_id) not in key and owner.email not in key
    assert "promotional" not in key and key == fragment_key(name=FRAGMENT, owner_id=owner.pk, language="en")


def test_forgetting_deletes_the_page_in_every_language(client, owner, django_capture_on_commit_callbacks):
    change(owner)
    client.force_login(owner.user)
    visit(client)
    client.cookies["django_language"] = "zh-hans"
    visit(client)
    keys = [fragment_key(name=FRAGMENT, owner_id=owner.pk, language=code) for code in ("en", "zh-hans")]
    assert all(cache.get(k) is not None for k in keys)
    with django_capture_on_commit_callbacks(execute=True):
        history_fragments_forget(client=owner)
    assert all(cache.get(k) is None for k in keys)


def test_an_erasure_deletes_the_kept_pages(client, owner, django_capture_on_commit_callbacks):
    import time_machine

    from consent.choices_page import FRAGMENT as CHOICES_FRAGMENT
    from rights.erasure import erasure_request, scheduled_erasure_of
    from rights.erasure_page import FRAGMENT as ERASURE_FRAGMENT
    from rights.tasks import perform_due_erasures
    from sharing.received_page import FRAGMENT as RECEIVED_FRAGMENT

    change(owner)
    client.force_login(owner.user)
    visit(client)
    client.get(reverse("consent:choices"))
    client.get(reverse("sharing:received"))
    client.get(reverse("portal:dashboard"))
    client.get(reverse("rights:erase"))
    keys = [fragment_key(name=name, owner_id=owner.pk, language="en")
            for name in (FRAGMENT, CHOICES_FRAGMENT, RECEIVED_FRAGMENT, DASHBOARD, ERASURE_FRAGMENT)]
    assert all(cache.get(key) is not None for key in keys)
    erasure_request(client=owner, actor=owner.user)
    with time_machine.travel(scheduled_erasure_of(client=owner).scheduled_for + timedelta(minutes=5)):
        with django_capture_on_commit_callbacks(execute=True):
            assert perform_due_erasures.delay().get() == 1
    assert all(cache.get(key) is None for key in keys)


def test_nothing_is_kept_when_the_setting_is_zero(client, owner, settings):
    settings.PORTAL_FRAGMENT_SECONDS = 0
    change(owner)
    client.force_login(owner.user)
    visit(client)
    assert cache.get(fragment_key(name=FRAGMENT, owner_id=owner.pk, language="en")) is None


def test_older_pages_are_never_kept_and_still_show_the_oldest_events(client, owner):
    change(owner, 30)
    client.force_login(owner.user)
    first = client.get(HISTORY)
    position = str(ConsentEvent.objects.filter(client=owner).order_by("-sequence")[24].sequence)
    older = client.get(HISTORY, {"older": cursor_seal(position)})  # the cursor the first page's Older link carries
    oldest = ConsentEvent.objects.get(client=owner, sequence=1)
    assert receipt_url(oldest) in older.content.decode() and receipt_url(oldest) not in first.content.decode()


# "Your choices": the list is kept rendered while the data it shows is the same

CHOICES = reverse("consent:choices")


def choices_main(browser):
    page = browser.get(CHOICES).content.decode()
    return page[page.index("<main"):page.index("</main>")]


def test_a_changed_consent_shows_at_once_on_the_choices_list(client, owner):
    client.force_login(owner.user)
    before = choices_main(client)
    change(owner)
    after = choices_main(client)
    assert after != before
    granted = ConsentState.objects.get(client=owner, purpose=promo()).granted
    assert ("Give consent: " + promo().title_en in after) is (not granted)


def test_a_recipient_renamed_shows_at_once_on_the_choices_list(client, owner):
    from sharing.models import Affiliate
    from tests.sharing.conftest import make_affiliate

    affiliate = make_affiliate("Ads Network")
    client.force_login(owner.user)
    assert "Ads Network" in choices_main(client)
    Affiliate.objects.filter(pk=affiliate.pk).update(name="Ads Network Renamed Ltd")
    assert "Ads Network Renamed Ltd" in choices_main(client)


def test_the_kept_choices_list_carries_each_responses_working_csrf_token(db, owner):
    from django.test import Client as Browser

    browser = Browser(enforce_csrf_checks=True)
    browser.force_login(owner.user)
    browser.get(CHOICES)
    page = browser.get(CHOICES).content.decode()
    action = reverse("consent:change", args=[promo().code])
    form = page[page.index(f'action="{action}"'):]
    token = form.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    granted = ConsentState.objects.get(client=owner, purpose=promo()).granted
    response = browser.post(action, {"csrfmiddlewaretoken": token, "action": "withdraw" if granted else "grant"})
    assert response.status_code == 302
    assert ConsentState.objects.get(client=owner, purpose=promo()).granted is (not granted)


def test_another_client_never_gets_the_kept_choices_list(client, owner):
    other = make_client("other@example.com", country="US", region="US-CA", phone="+14155552672")
    change(owner)  # the owner withdraws; the other client keeps the opt-out default (granted)
    client.force_login(owner.user)
    mine = choices_main(client)
    client.force_login(other.user)
    theirs = choices_main(client)
    assert "Give consent: " + promo().title_en in mine and "Give consent: " + promo().title_en not in theirs
    assert "Withdraw consent: " + promo().title_en in theirs


def test_an_erasure_forgets_the_choices_list_too(client, owner, django_capture_on_commit_callbacks):
    from consent.choices_page import FRAGMENT as CHOICES_FRAGMENT

    client.force_login(owner.user)
    choices_main(client)
    key = fragment_key(name=CHOICES_FRAGMENT, owner_id=owner.pk, language="en")
    assert cache.get(key) is not None
    with django_capture_on_commit_callbacks(execute=True):
        history_fragments_forget(client=owner)
    assert cache.get(key) is None
