import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from accounts.models import User
from amendments.services import policy_first_version_ensure
from consent.models import NOT_A_CHOICE, Channel, ConsentAction, ConsentEvent, ConsentState, Purpose
from consent.services import consent_record
from notify.models import OutboundMessage
from tests.conftest import make_client

pytestmark = pytest.mark.django_db

PROMO = "Promotional sharing with affiliated companies"
CHOICES = reverse("consent:choices")
HISTORY = reverse("consent:history")


def promo():
    return Purpose.objects.get(code="promotional-sharing")


def change_url(code="promotional-sharing"):
    return reverse("consent:change", args=[code])


def receipt_url(event):
    return reverse("consent:receipt", args=[event.receipt_id])


@pytest.fixture
def californian(db):
    """A client under the opt-out model: both consent purposes start granted."""
    return make_client("ca@example.com", country="US", region="US-CA", phone="+14155552671", full_name="Cali Client")


def link_of(response, direction: str) -> str | None:
    """The cursor of the page's Newer (`newer`) or Older (`older`) link, None without one."""
    found = re.search(rf'href="\?{direction}=([^"]+)"', response.content.decode())
    return found and found.group(1)


def toggle_promotional_sharing(client, times):
    """Lengthen a client's ledger through the real service: withdraw, grant, withdraw, …"""
    for n in range(times):
        granted = ConsentState.objects.get(client=client, purpose=promo()).granted
        consent_record(client=client, purpose=promo(), channel=Channel.PORTAL, ip_address=f"192.0.2.{n % 250 + 1}",
                       action=ConsentAction.WITHDRAW if granted else ConsentAction.GRANT)


def queries_for(browser, url):
    browser.get(url)  # the first visit of a session records the IP address: not what is measured here
    with CaptureQueriesContext(connection) as queries:
        response = browser.get(url)
    assert response.status_code == 200
    return len(queries)


# The choices page

def test_client_sees_every_purpose_with_its_state_basis_data_recipients_and_transfer(client, owner):
    client.force_login(owner.user)
    page = client.get(CHOICES).content.decode()
    for purpose in Purpose.objects.exclude(code__in=NOT_A_CHOICE):
        assert escape(purpose.title) in page and escape(purpose.description) in page
    # Answers to policy changes are given on the change's own page, and sign-up's age answers are evidence (issue
    # #18.12): none of them is a standing choice here.
    for purpose in Purpose.objects.filter(code__in=NOT_A_CHOICE):
        assert escape(purpose.title) not in page
    assert "Give consent: " + PROMO + "</button>" in page
    assert "Give consent: Promotional offers from Fulfillmen</button>" in page
    assert "Withdraw consent" not in page  # an EU client starts withdrawn from both
    assert "Needed for your orders — legal basis: contract" in page
    assert "Required by law — legal basis: legal obligation" in page
    assert "Affiliated companies" in page and "IP address, Email address" in page
    assert "Yes: it may be transferred outside Mainland China (CN)." in page
    assert "badge--withdrawn" in page and "Channel: Sign-up" in page
    assert f'action="{change_url("order-fulfilment")}"' not in page


def test_a_granted_purpose_offers_to_withdraw(client, californian):
    client.force_login(californian.user)
    page = client.get(CHOICES).content.decode()
    assert "Withdraw consent: " + PROMO + "</button>" in page
    assert "badge--granted" in page


def test_client_withdraws_then_gives_consent_again_with_full_evidence_and_a_receipt_each_time(
        client, californian, django_capture_on_commit_callbacks):
    client.force_login(californian.user)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(change_url(), {"action": "withdraw"}, REMOTE_ADDR="198.51.100.7", HTTP_USER_AGENT="Firefox/130.0")
    assert response.status_code == 302 and response["Location"] == CHOICES
    assert len(callbacks) == 1  # the receipt goes to the queue only once the change is committed

    withdrawal = ConsentEvent.objects.filter(client=californian).latest("sequence")
    assert (withdrawal.purpose.code, withdrawal.action, withdrawal.channel) == ("promotional-sharing", "withdraw", "portal")
    assert withdrawal.personal.ip_address == "198.51.100.7" and withdrawal.personal.user_agent == "Firefox/130.0"
    assert withdrawal.recorded_by is None and withdrawal.policy_version is None  # no policy version published here
    assert ConsentState.objects.get(client=californian, purpose=promo()).granted is False
    receipt = OutboundMessage.objects.get(kind="consent-receipt", idempotency_key=f"consent-receipt:{withdrawal.receipt_id}")
    assert receipt.client == californian and receipt.to == "ca@example.com" and receipt.status == "queued"
    assert receipt.attachment_name == f"consent-receipt-{withdrawal.receipt_id}.json"

    page = client.get(CHOICES).content.decode()
    assert f"Your consent to “{PROMO}” was withdrawn at" in page and "A receipt was sent to your email." in page
    assert "Give consent: " + PROMO in page

    client.post(change_url(), {"action": "grant"}, REMOTE_ADDR="198.51.100.8", HTTP_USER_AGENT="Firefox/131.0")
    grant = ConsentEvent.objects.filter(client=californian).latest("sequence")
    assert (grant.action, grant.channel, grant.personal.ip_address, grant.personal.user_agent) == (
        "grant", "portal", "198.51.100.8", "Firefox/131.0")
    assert grant.previous_hash == withdrawal.entry_hash
    assert ConsentState.objects.get(client=californian, purpose=promo()).granted is True
    assert OutboundMessage.objects.filter(kind="consent-receipt", client=californian).count() == 2
    assert f"Your consent to “{PROMO}” was given at" in client.get(CHOICES).content.decode()


def test_the_policy_version_in_force_is_recorded_with_the_change(client, californian):
    version = policy_first_version_ensure(label="2025-01", body_en="The policy.", body_zh_hans="", summary="First",
                                          effective_at=timezone.now() - timedelta(days=1))
    client.force_login(californian.user)
    client.post(change_url(), {"action": "withdraw"})
    assert ConsentEvent.objects.filter(client=californian).latest("sequence").policy_version == version


def test_clicking_the_current_state_again_records_nothing_and_sends_no_receipt(client, owner):
    client.force_login(owner.user)
    events = ConsentEvent.objects.count()
    response = client.post(change_url(), {"action": "withdraw"}, follow=True)
    assert ConsentEvent.objects.count() == events
    assert not OutboundMessage.objects.filter(kind="consent-receipt").exists()
    assert "was already withdrawn; nothing changed." in response.content.decode()


def test_a_purpose_that_does_not_rest_on_consent_is_refused_with_a_message(client, owner):
    client.force_login(owner.user)
    events = ConsentEvent.objects.count()
    response = client.post(change_url("order-fulfilment"), {"action": "withdraw"}, follow=True)
    assert response.redirect_chain == [(CHOICES, 302)]
    assert "does not rest on consent" in response.content.decode()
    assert ConsentEvent.objects.count() == events and not OutboundMessage.objects.exists()


def test_an_unknown_action_is_refused_with_a_message(client, owner):
    client.force_login(owner.user)
    response = client.post(change_url(), {"action": "sell"}, follow=True)
    assert "Unknown consent action" in response.content.decode()
    assert not ConsentState.objects.get(client=owner, purpose=promo()).granted


def test_an_unknown_purpose_is_not_found(client, owner):
    client.force_login(owner.user)
    assert client.post(change_url("selling-your-soul"), {"action": "grant"}).status_code == 404


def test_changing_a_choice_needs_a_post(client, owner):
    client.force_login(owner.user)
    assert client.get(change_url()).status_code == 405


# Who may see what

@pytest.mark.parametrize("url", [CHOICES, HISTORY, reverse("consent:receipt", args=["00000000-0000-0000-0000-000000000001"])])
def test_anonymous_visitor_is_sent_to_log_in(client, url):
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_anonymous_visitor_cannot_change_a_choice(client, californian):
    response = client.post(change_url(), {"action": "withdraw"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    assert ConsentState.objects.get(client=californian, purpose=promo()).granted is True


def test_a_login_without_a_client_record_is_refused(client):
    user = User.objects.create_user("nobody@example.com", "a-long-password-123")
    client.force_login(user)
    assert client.get(CHOICES).status_code == 403
    assert client.get(HISTORY).status_code == 403


def test_staff_are_sent_to_the_admin(client, support_agent):
    client.force_login(support_agent)
    response = client.get(CHOICES)
    assert response.status_code == 302 and response["Location"] == reverse("admin:index")


def test_outsider_cannot_see_the_owners_history_or_download_the_owners_receipt(client, owner, outsider):
    event = ConsentEvent.objects.filter(client=owner).latest("sequence")
    client.force_login(outsider.user)
    page = client.get(HISTORY).content.decode()
    assert str(event.receipt_id) not in page
    own = ConsentEvent.objects.filter(client=outsider).latest("sequence")
    assert str(own.receipt_id) in page
    assert client.get(receipt_url(event)).status_code == 404  # never 403: no hint that it exists
    assert client.get(receipt_url(own)).status_code == 200


def test_outsiders_choice_changes_only_the_outsiders_state(client, owner, outsider):
    client.force_login(outsider.user)
    client.post(change_url(), {"action": "grant"})
    assert ConsentState.objects.get(client=outsider, purpose=promo()).granted is True
    assert ConsentState.objects.get(client=owner, purpose=promo()).granted is False


# History and receipts

def test_history_lists_the_clients_events_newest_first_with_receipt_links(client, californian):
    toggle_promotional_sharing(californian, 2)
    client.force_login(californian.user)
    page = client.get(HISTORY).content.decode()
    events = list(ConsentEvent.objects.filter(client=californian).order_by("-sequence"))
    positions = [page.index(receipt_url(e)) for e in events]
    assert positions == sorted(positions)
    assert "Portal" in page and "Sign-up" in page and "None published yet" in page


def test_history_shows_the_policy_version_label(client, californian):
    policy_first_version_ensure(label="2025-07", body_en="The policy.", body_zh_hans="", summary="First",
                                effective_at=timezone.now() - timedelta(days=1))
    toggle_promotional_sharing(californian, 1)
    client.force_login(californian.user)
    assert '<span class="mono">2025-07</span>' in client.get(HISTORY).content.decode()


def test_history_is_paginated_by_25(client, californian):
    toggle_promotional_sharing(californian, 28)  # 30 events with the two sign-up defaults
    client.force_login(californian.user)
    first = client.get(HISTORY)
    second = client.get(HISTORY, {"older": link_of(first, "older")})
    first, second = first.content.decode(), second.content.decode()
    assert first.count("Download receipt") == 25 and second.count("Download receipt") == 5
    assert 'rel="next"' in first and 'rel="prev"' not in first
    assert 'rel="prev"' in second and 'rel="next"' not in second
    oldest = ConsentEvent.objects.get(client=californian, sequence=1)
    assert receipt_url(oldest) in second and receipt_url(oldest) not in first


def test_history_newer_link_leads_back_to_the_same_first_page(client, californian):
    toggle_promotional_sharing(californian, 28)
    client.force_login(californian.user)
    first = client.get(HISTORY)
    second = client.get(HISTORY, {"older": link_of(first, "older")})
    back = client.get(HISTORY, {"newer": link_of(second, "newer")})
    assert back.content.decode().count("Download receipt") == 25
    assert [r for r in re.findall(r"receipts/([0-9a-f-]+)\.json", back.content.decode())] == \
        [r for r in re.findall(r"receipts/([0-9a-f-]+)\.json", first.content.decode())]
    assert link_of(back, "newer") is None


def test_history_pages_show_only_the_clients_own_events(client, californian):
    other = make_client("other@example.com", country="US", region="US-CA", phone="+14155552679")
    toggle_promotional_sharing(other, 30)
    toggle_promotional_sharing(californian, 28)
    client.force_login(californian.user)
    first = client.get(HISTORY)
    second = client.get(HISTORY, {"older": link_of(first, "older")})
    shown = {r for page in (first, second) for r in re.findall(r"receipts/([0-9a-f-]+)\.json", page.content.decode())}
    assert shown == {str(e.receipt_id) for e in ConsentEvent.objects.filter(client=californian)}


@pytest.mark.parametrize("query", [{"older": "x"}, {"older": "-4"}, {"newer": "9" * 30}, {"older": ""}, {"newer": "1e3"}])
@pytest.mark.parametrize("sealed", [False, True], ids=["as-typed", "sealed"])  # sealed: what opens but does not parse
def test_history_with_a_bad_cursor_shows_the_first_page(client, californian, query, sealed):
    from accounts.keyset import cursor_seal

    toggle_promotional_sharing(californian, 28)
    client.force_login(californian.user)
    response = client.get(HISTORY, {k: cursor_seal(v) for k, v in query.items()} if sealed else query)
    assert response.status_code == 200 and response.content.decode().count("Download receipt") == 25


def test_client_downloads_their_own_receipt_as_a_json_attachment(client, californian):
    event = ConsentEvent.objects.filter(client=californian).latest("sequence")
    client.force_login(californian.user)
    response = client.get(receipt_url(event))
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == f'attachment; filename="consent-receipt-{event.receipt_id}.json"'
    assert "no-store" in response["Cache-Control"]
    assert response.json()["consentReceiptID"] == str(event.receipt_id)


# Query counts

def test_choices_page_costs_the_same_queries_for_3_or_60_events(client, django_assert_max_num_queries):
    few = make_client("few@example.com", country="US", region="US-CA", phone="+14155552672")
    many = make_client("many@example.com", country="US", region="US-CA", phone="+14155552673")
    toggle_promotional_sharing(few, 1)
    toggle_promotional_sharing(many, 58)
    assert ConsentEvent.objects.filter(client=few).count() == 3 and ConsentEvent.objects.filter(client=many).count() == 60
    client.force_login(few.user)
    few_queries = queries_for(client, CHOICES)
    client.force_login(many.user)
    assert queries_for(client, CHOICES) == few_queries
    client.get(CHOICES)
    # session, user, client, purposes each with the client's state and its last event's channel
    with django_assert_max_num_queries(4):
        client.get(CHOICES)


def test_history_page_costs_the_same_queries_for_3_or_60_events(client, django_assert_max_num_queries):
    few = make_client("few@example.com", country="US", region="US-CA", phone="+14155552672")
    many = make_client("many@example.com", country="US", region="US-CA", phone="+14155552673")
    toggle_promotional_sharing(few, 1)
    toggle_promotional_sharing(many, 58)
    client.force_login(few.user)
    few_queries = queries_for(client, HISTORY)
    client.force_login(many.user)
    assert queries_for(client, HISTORY) == few_queries
    # session, user, client, one page of events with purposes and policy versions (nothing counted), their places
    # in the public log
    older = link_of(client.get(HISTORY), "older")
    with django_assert_max_num_queries(5):
        client.get(HISTORY, {"older": older})


def test_dashboard_costs_the_same_queries_for_3_or_60_events(client):
    few = make_client("few@example.com", country="US", region="US-CA", phone="+14155552672")
    many = make_client("many@example.com", country="US", region="US-CA", phone="+14155552673")
    toggle_promotional_sharing(few, 1)
    toggle_promotional_sharing(many, 58)
    client.force_login(few.user)
    few_queries = queries_for(client, reverse("portal:dashboard"))
    client.force_login(many.user)
    assert queries_for(client, reverse("portal:dashboard")) == few_queries
    # session, user, client, addresses, IP addresses, purposes with states (not who each per-recipient purpose's
    # recipient is: the dashboard does not show it), whether a material change is pending, the newest sharing
    # record with the count of all, the business transfers announced to the client
    assert few_queries <= 9


def test_dashboard_does_not_read_the_recipients_of_per_recipient_purposes(client, californian):
    from tests.sharing.conftest import make_affiliate

    make_affiliate("Ads Network")  # a per-recipient consent purpose under promotional sharing
    client.force_login(californian.user)
    client.get(reverse("portal:dashboard"))
    with CaptureQueriesContext(connection) as dashboard:
        page = client.get(reverse("portal:dashboard")).content.decode()
    assert not [q for q in dashboard.captured_queries if "sharing_recipientconsent" in q["sql"]]
    assert promo().title_en in page and "Granted" in page
    with CaptureQueriesContext(connection) as choices:
        assert "Ads Network" in client.get(CHOICES).content.decode()
    assert [q for q in choices.captured_queries if "sharing_recipientconsent" in q["sql"]]


def test_dashboard_shows_the_consent_purposes_and_links_to_the_choices(client, californian):
    client.force_login(californian.user)
    page = client.get(reverse("portal:dashboard")).content.decode()
    assert PROMO in page and "Promotional offers from Fulfillmen" in page and "badge--granted" in page
    assert f'<a href="{CHOICES}">Review your choices</a>' in page
    assert "Needed for your orders" not in page  # only the choices the client actually has
