"""Objection to direct marketing: one POST withdraws every marketing and promotional purpose, as single withdrawals
would (ledger, receipts, affiliates' withdrawal notices); a second one changes nothing and says so."""

import pytest
from django.urls import reverse
from django.utils import timezone

from consent.models import ConsentAction, ConsentEvent, ConsentState, Purpose
from notify.models import OutboundMessage
from rights.models import DataSubjectRequest
from rights.objection import marketing_objection
from sharing.services import affiliate_key_create
from tests.conftest import make_client
from tests.sharing.conftest import bearer, make_affiliate

pytestmark = pytest.mark.django_db

OBJECT = reverse("rights:object")
MARKETING = {"promotional-sharing", "marketing-messages"}


@pytest.fixture
def californian(db):
    """Opt-out rules in California: every marketing purpose starts granted."""
    return make_client("ca@example.com", country="US", region="US-CA", phone="+14155552671", full_name="Cali Client")


@pytest.fixture
def portal(client, californian):
    client.force_login(californian.user)
    return client


def granted(client) -> set[str]:
    return set(ConsentState.objects.filter(client=client, granted=True).values_list("purpose__code", flat=True))


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_the_marketing_purposes_are_those_the_catalogue_marks_as_marketing():
    assert set(Purpose.objects.filter(is_marketing=True).values_list("code", flat=True)) == MARKETING


def test_one_post_withdraws_every_marketing_consent_in_the_ledger_with_a_receipt_each(portal, californian):
    assert MARKETING <= granted(californian)
    before = ConsentEvent.objects.filter(client=californian).count()

    response = portal.post(OBJECT, follow=True)

    assert not MARKETING & granted(californian)
    events = ConsentEvent.objects.filter(client=californian).order_by("sequence")[before:]
    assert {e.purpose.code for e in events} == MARKETING
    assert all(e.action == ConsentAction.WITHDRAW and e.channel == "portal" for e in events)
    assert OutboundMessage.objects.filter(client=californian, kind="consent-receipt").count() == 2
    [request] = DataSubjectRequest.objects.filter(client=californian)
    assert (request.kind, request.status, request.channel) == ("objection", "completed", "portal")
    assert request.completed_at is not None
    [message] = messages_of(response)
    assert message.startswith("Done: you will get no more marketing from us.")


def test_affiliates_that_received_promotional_data_are_told_to_delete_it(portal, californian):
    ads_key = affiliate_key_create(affiliate=make_affiliate("Ads Network"))[1]
    api = portal.__class__()
    assert len(api.get("/api/v1/clients/", {"purpose": "promotional-sharing"}, **bearer(ads_key)).json()["results"]) == 1
    since = timezone.now()

    portal.post(OBJECT)

    feed = api.get("/api/v1/withdrawals/", {"purpose": "promotional-sharing", "since": since.isoformat()},
                   **bearer(ads_key)).json()["results"]
    assert [(n["client_id"], n["reason"]) for n in feed] == [(str(californian.public_id), "consent-withdrawn")]
    assert api.get("/api/v1/clients/", {"purpose": "promotional-sharing"}, **bearer(ads_key)).json()["results"] == []


def test_a_second_post_changes_nothing_and_says_so(portal, californian):
    portal.post(OBJECT, follow=True)  # the first one's message is shown, and gone
    events, requests, receipts = (ConsentEvent.objects.count(), DataSubjectRequest.objects.count(),
                                  OutboundMessage.objects.count())

    response = portal.post(OBJECT, follow=True)

    assert (ConsentEvent.objects.count(), DataSubjectRequest.objects.count(), OutboundMessage.objects.count()) == (
        events, requests, receipts)
    assert messages_of(response) == ["Nothing to stop: you have not given consent to any marketing, so nothing changed."]


def test_purposes_that_are_not_marketing_are_left_as_they_are(californian):
    others = {s.purpose_id: s.last_event_id for s in ConsentState.objects.filter(client=californian)
              if s.purpose.code not in MARKETING}
    marketing_objection(client=californian)
    assert {s.purpose_id: s.last_event_id for s in ConsentState.objects.filter(client=californian)
            if s.purpose.code not in MARKETING} == others


def test_the_objection_needs_no_password_and_is_linked_from_your_choices(portal):
    page = portal.get(reverse("consent:choices")).content.decode()
    assert f'href="{OBJECT}"' in page
    response = portal.get(OBJECT)
    assert response.status_code == 200
    assert 'type="password"' not in response.content.decode()
    assert [granted for _purpose, granted in response.context["purposes"]] == [True, True]


def test_anonymous_visitors_are_sent_to_log_in(client):
    for response in (client.get(OBJECT), client.post(OBJECT)):
        assert response.status_code == 302 and response.url.startswith(reverse("login"))
    assert not DataSubjectRequest.objects.exists()
