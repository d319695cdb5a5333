import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from consent import middleware
from consent.models import Channel, ConsentEvent, ConsentState, Purpose
from tests.conftest import make_client

pytestmark = pytest.mark.django_db

GPC = {"HTTP_SEC_GPC": "1", "HTTP_USER_AGENT": "Firefox/130.0 (GPC)", "REMOTE_ADDR": "198.51.100.9"}
HONOURED = "Your browser's Global Privacy Control signal was honoured: we stopped sharing your data for promotions."
DASHBOARD = reverse("portal:dashboard")
CHOICES = reverse("consent:choices")


@pytest.fixture
def californian(db):
    """Starts granted: California's opt-out model."""
    return make_client("ca@example.com", country="US", region="US-CA", phone="+14155552671", full_name="Cali Client")


def granted(client, code="promotional-sharing"):
    return ConsentState.objects.get(client=client, purpose__code=code).granted


def gpc_events(client):
    return ConsentEvent.objects.filter(client=client, channel=Channel.GPC)


def test_a_gpc_signal_withdraws_promotional_sharing_once_with_channel_gpc(client, californian, outsider):
    outsider_events = ConsentEvent.objects.filter(client=outsider).count()
    client.force_login(californian.user)
    assert client.get(DASHBOARD, **GPC).status_code == 200

    [event] = gpc_events(californian)
    assert event.purpose.code == "promotional-sharing" and event.action == "withdraw"
    assert event.personal.ip_address == "198.51.100.9" and event.personal.user_agent == "Firefox/130.0 (GPC)"
    assert granted(californian) is False
    assert granted(californian, "marketing-messages") is True  # GPC opts out of sale/sharing, not of our own offers
    assert ConsentEvent.objects.filter(client=outsider).count() == outsider_events

    client.get(DASHBOARD, **GPC)
    assert gpc_events(californian).count() == 1


def test_the_signal_is_checked_once_per_session(client, californian, monkeypatch):
    client.force_login(californian.user)
    client.get(CHOICES, **GPC)
    calls = []
    monkeypatch.setattr(middleware, "consent_gpc_honour", lambda **kwargs: calls.append(kwargs))
    client.get(CHOICES, **GPC)
    assert calls == []


def test_after_the_first_request_the_signal_costs_only_the_query_for_its_note(client, californian):
    client.force_login(californian.user)
    client.get(CHOICES, **GPC)
    with CaptureQueriesContext(connection) as without_signal:
        client.get(CHOICES, REMOTE_ADDR=GPC["REMOTE_ADDR"])
    with CaptureQueriesContext(connection) as with_signal:
        client.get(CHOICES, **GPC)
    assert len(with_signal) == len(without_signal) + 1  # "was a GPC event recorded?" for the note


def test_a_client_who_gives_consent_again_in_the_portal_keeps_it(client, californian):
    client.force_login(californian.user)
    client.get(CHOICES, **GPC)
    client.post(reverse("consent:change", args=["promotional-sharing"]), {"action": "grant"}, **GPC)
    assert granted(californian) is True

    client.logout()
    client.force_login(californian.user)  # a new session checks the signal again
    client.get(CHOICES, **GPC)
    assert granted(californian) is True
    assert gpc_events(californian).count() == 1


def test_an_eu_client_already_withdrawn_gets_no_event(client, owner):
    events = ConsentEvent.objects.filter(client=owner).count()
    client.force_login(owner.user)
    page = client.get(CHOICES, **GPC).content.decode()
    assert ConsentEvent.objects.filter(client=owner).count() == events
    assert HONOURED not in page


def test_the_page_that_carries_the_signal_already_shows_the_withdrawn_state_and_says_so(client, californian):
    client.force_login(californian.user)
    page = client.get(CHOICES, **GPC).content.decode()
    assert HONOURED in page
    assert 'Give consent: Promotional sharing with affiliated companies</button>' in page
    assert HONOURED in client.get(DASHBOARD, **GPC).content.decode()


def test_the_note_is_shown_only_while_the_browser_sends_the_signal(client, californian):
    client.force_login(californian.user)
    client.get(CHOICES, **GPC)
    assert HONOURED not in client.get(CHOICES).content.decode()
    assert HONOURED not in client.get(DASHBOARD).content.decode()


def test_an_anonymous_request_with_gpc_is_fine(client, californian):
    assert client.get(reverse("home"), **GPC).status_code == 200
    assert client.get(reverse("login"), **GPC).status_code == 200
    assert not ConsentEvent.objects.filter(channel=Channel.GPC).exists()


def test_a_staff_request_with_gpc_records_nothing(client, support_agent):
    client.force_login(support_agent)
    assert client.get(DASHBOARD, **GPC).status_code == 302
    assert not ConsentEvent.objects.filter(channel=Channel.GPC).exists()


def test_a_signal_without_the_value_1_is_not_an_opt_out(client, californian):
    client.force_login(californian.user)
    client.get(CHOICES, HTTP_SEC_GPC="0")
    assert granted(californian) is True and not gpc_events(californian).exists()


def test_gpc_only_touches_purposes_marked_as_sale_or_sharing(client):
    other = make_client("other@example.com", country="BR", phone="+5511987654321")  # "other": opt-out model
    client.force_login(other.user)
    client.get(DASHBOARD, **GPC)
    codes = set(gpc_events(other).values_list("purpose__code", flat=True))
    assert codes == set(Purpose.objects.filter(opted_out_by_gpc=True).values_list("code", flat=True))
