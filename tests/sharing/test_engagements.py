"""Partner feeds scoped to engagements (issue #18, item 5): a drop-shipping partner receives a client only while an
order of the client is routed to it and ENGAGEMENT_TAIL_DAYS after; then it is told to delete its copy. Engagements
come from Fulfillmen's WMS (a WMS key, never an affiliate's key), the admin and a CSV import."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from consent.models import Purpose
from sharing.engagements import CLOSE_MARGIN, engagement_feeds_close, engagement_record
from sharing.models import PartnerEngagement, SharingRecord, WithdrawalNotice, WmsKey
from sharing.services import affiliate_key_create, wms_key_create, wms_key_revoke
from tests.conftest import make_client

from .conftest import bearer, engage, make_affiliate

pytestmark = pytest.mark.django_db

CLIENTS = "/api/v1/clients/"
ENGAGEMENTS = "/api/internal/v1/engagements/"


@pytest.fixture
def partner(db):
    return make_affiliate("Dropship Partner", purpose="order-fulfilment", fields=("name", "phone", "shipping_address"),
                          country="CN")


@pytest.fixture
def other_partner(db):
    """The outsider: another drop-shipping partner, with the same agreement, that no order of the owner went to."""
    return make_affiliate("Other Dropship", purpose="order-fulfilment", fields=("name", "phone"), country="VN")


def feed(client, key, **params):
    response = client.get(CLIENTS, {"purpose": "order-fulfilment", **params}, **bearer(key))
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def test_dropship_partner_receives_only_clients_engaged_with_it(client, owner, outsider, partner, other_partner):
    engage(partner, [owner])
    key, other_key = affiliate_key_create(affiliate=partner)[1], affiliate_key_create(affiliate=other_partner)[1]
    assert feed(client, key) == [str(owner.public_id)]
    assert feed(client, other_key) == []  # the outsider partner gets nobody: no order went to it
    assert client.get(f"{CLIENTS}{outsider.public_id}/", {"purpose": "order-fulfilment"}, **bearer(key)).status_code == 404
    assert client.get(f"{CLIENTS}{owner.public_id}/", {"purpose": "order-fulfilment"},
                      **bearer(other_key)).status_code == 404
    # Every response stays recorded: exactly the client sent, to the partner that got it.
    assert list(SharingRecord.objects.values_list("client_id", "affiliate_id")) == [(owner.pk, partner.pk)]


def test_a_partner_receives_a_client_during_the_tail_and_not_after(client, owner, partner, settings):
    settings.ENGAGEMENT_TAIL_DAYS = 30
    ended = timezone.now() - timedelta(days=1)
    engage(partner, [owner], started_at=ended - timedelta(days=5), ended_at=ended)
    key = affiliate_key_create(affiliate=partner)[1]
    assert feed(client, key) == [str(owner.public_id)]  # ended yesterday: still within the 30 days' tail
    with time_machine.travel(ended + timedelta(days=30, seconds=1)):
        assert feed(client, key) == []
        assert client.get(f"{CLIENTS}{owner.public_id}/", {"purpose": "order-fulfilment"}, **bearer(key)).status_code == 404


def test_an_engagement_not_started_yet_or_of_an_affiliated_company_opens_nothing(client, owner, partner):
    ads = make_affiliate("Ads Network")
    with pytest.raises(Exception, match="not a drop-shipping partner"):
        engagement_record(affiliate=ads, client=owner, order_reference="X-1", started_at=timezone.now(), source="admin")
    with pytest.raises(Exception, match="future"):
        engagement_record(affiliate=partner, client=owner, order_reference="X-2",
                          started_at=timezone.now() + timedelta(days=1), source="admin")
    assert not PartnerEngagement.objects.exists()


def test_a_newly_engaged_client_is_in_the_partners_updated_since_sync(client, owner, partner):
    key = affiliate_key_create(affiliate=partner)[1]
    since = timezone.now()
    assert feed(client, key, updated_since=since.isoformat()) == []
    engage(partner, [owner], started_at=since - timedelta(days=3))  # an old order recorded late: news all the same
    assert feed(client, key, updated_since=since.isoformat()) == [str(owner.public_id)]


def test_engagement_tail_ends_the_feed_and_asks_the_partner_to_delete(client, owner, outsider, partner, other_partner,
                                                                       settings):
    settings.ENGAGEMENT_TAIL_DAYS = 30
    start = timezone.now() - timedelta(days=10)
    engage(partner, [owner, outsider], started_at=start, ended_at=start + timedelta(days=2))
    engage(other_partner, [owner], started_at=start, ended_at=start + timedelta(days=2))  # never fetched the owner
    feed(client, affiliate_key_create(affiliate=partner)[1])
    # The outsider has a second order with the partner, still open: the partner keeps receiving the outsider.
    engage(partner, [outsider], order_prefix="LATER", started_at=start + timedelta(days=5))
    assert engagement_feeds_close() == 0  # the tail has not ended yet
    key = affiliate_key_create(affiliate=partner)[1]
    with time_machine.travel(start + timedelta(days=2 + 30) + CLOSE_MARGIN + timedelta(minutes=1)):
        assert engagement_feeds_close() == 1
        assert engagement_feeds_close() == 0  # run again (a second beat, a retried task): nobody is told twice
        # The owner is out of the partner's feed; the outsider, whose later order is open, is still in it.
        assert feed(client, key) == [str(outsider.public_id)]
    [notice] = WithdrawalNotice.objects.all()
    assert (notice.affiliate, notice.client, notice.purpose.code, notice.reason) == (
        partner, owner, "order-fulfilment", WithdrawalNotice.Reason.ENGAGEMENT_ENDED)
    # The partner reads it in its withdrawal feed, with the new reason.
    response = client.get("/api/v1/withdrawals/", {"purpose": "order-fulfilment", "since": start.isoformat()}, **bearer(key))
    assert [(n["client_id"], n["reason"]) for n in response.json()["results"]] == [
        (str(owner.public_id), "engagement-ended")]
    assert PartnerEngagement.objects.filter(feed_closed_at__isnull=False).count() == 2  # the owner's, with both partners


def test_closing_feeds_is_set_based(partner, settings):
    settings.ENGAGEMENT_TAIL_DAYS = 1
    clients = [make_client(f"c{n}@example.com") for n in range(30)]
    long_ago = timezone.now() - timedelta(days=20)
    engage(partner, clients, started_at=long_ago, ended_at=long_ago + timedelta(days=1))
    from sharing.services import sharing_records_write
    sharing_records_write(affiliate=partner, purpose=Purpose.objects.get(code="order-fulfilment"), fields=["name"],
                          client_ids=[c.pk for c in clients], api_key=None, request_id=None, at=long_ago)
    with CaptureQueriesContext(connection) as queries:
        assert engagement_feeds_close() == 30
    # the same few statements for 30 clients as for one (the last: the webhook outbox looking for the partner's endpoints)
    assert len(queries) <= 9


def test_the_beat_runs_the_feed_closing_task_every_hour(settings, owner, partner):
    from sharing.tasks import close_engagement_feeds

    assert settings.CELERY_BEAT_SCHEDULE["close-engagement-feeds"] == {
        "task": "sharing.tasks.close_engagement_feeds", "schedule": 3600.0}
    settings.ENGAGEMENT_TAIL_DAYS = 0
    engage(partner, [owner], started_at=timezone.now() - timedelta(days=2), ended_at=timezone.now() - timedelta(days=1))
    from sharing.services import sharing_records_write
    sharing_records_write(affiliate=partner, purpose=Purpose.objects.get(code="order-fulfilment"), fields=["name"],
                          client_ids=[owner.pk], api_key=None, request_id=None, at=timezone.now() - timedelta(days=1))
    assert close_engagement_feeds.delay().get() == 1
    assert WithdrawalNotice.objects.get().reason == "engagement-ended"


# --- the WMS API ------------------------------------------------------------------------------------------------------

@pytest.fixture
def wms_key(db):
    return wms_key_create(name="WMS production")[1]


def post(browser, key, body: dict):
    headers = bearer(key) if key else {}
    return browser.post(ENGAGEMENTS, body, content_type="application/json", **headers)


def order(partner, owner, reference="SO-1", **extra):
    return {"partner": str(partner.public_id), "client": str(owner.public_id), "order_reference": reference,
            "started_at": (timezone.now() - timedelta(hours=3)).isoformat(), **extra}


def test_affiliate_key_cannot_record_engagements(client, owner, partner):
    """A partner must never widen its own feed: its key is refused (403) and nothing is recorded."""
    partner_key = affiliate_key_create(affiliate=partner)[1]
    response = post(client, partner_key, order(partner, owner))
    assert response.status_code == 403 and response.json()["error"]["code"] == "not_a_wms_key"
    assert post(client, None, order(partner, owner)).status_code == 401  # no key
    assert post(client, "fwms_deadbeef_not-a-real-key", order(partner, owner)).status_code == 401
    client.force_login(owner.user)  # a portal session is no key either
    assert post(client, None, order(partner, owner)).status_code == 401
    assert not PartnerEngagement.objects.exists()
    assert feed(client, partner_key) == []


def test_the_wms_records_an_engagement_once_and_its_end_once(client, owner, partner, wms_key):
    body = order(partner, owner)
    first = post(client, wms_key, body)
    assert first.status_code == 201 and first.json()["outcome"] == "created"
    again = post(client, wms_key, body)  # a retried call
    assert again.status_code == 200 and again.json() == {**first.json(), "outcome": "unchanged"}
    ended = post(client, wms_key, {**body, "ended_at": timezone.now().isoformat()})
    assert ended.status_code == 200 and ended.json()["outcome"] == "ended"
    moved = post(client, wms_key, {**body, "ended_at": (timezone.now() - timedelta(minutes=5)).isoformat()})
    assert moved.status_code == 400 and "not changed" in str(moved.json())
    engagement = PartnerEngagement.objects.get()
    assert (engagement.source, engagement.recorded_by_key.name, engagement.client) == ("api", "WMS production", owner)
    assert WmsKey.objects.get().last_used_at is not None


@pytest.mark.parametrize("change, field", [
    ({"partner": "00000000-0000-0000-0000-000000000000"}, "partner"),
    ({"client": "not-a-uuid"}, "client"),
    ({"started_at": "yesterday"}, "started_at"),
    ({"order_reference": ""}, "order_reference"),
    ({"started_at": (timezone.now() + timedelta(days=2)).isoformat()}, "non_field_errors"),
])
def test_bad_engagement_input_is_a_400_naming_the_field(client, owner, partner, wms_key, change, field):
    response = post(client, wms_key, {**order(partner, owner), **change})
    assert response.status_code == 400 and field in response.json()["error"]["fields"]
    assert not PartnerEngagement.objects.exists()


def test_an_order_of_another_client_or_an_affiliated_company_is_refused(client, owner, outsider, partner, wms_key):
    assert post(client, wms_key, order(partner, owner)).status_code == 201
    assert post(client, wms_key, order(partner, outsider)).status_code == 400  # same order, another client
    ads = make_affiliate("Ads Network")
    refused = post(client, wms_key, order(ads, owner, reference="SO-2"))
    assert refused.status_code == 400 and "not a drop-shipping partner" in str(refused.json())
    assert PartnerEngagement.objects.count() == 1


def test_a_revoked_wms_key_is_refused_at_once(client, owner, partner):
    row, key = wms_key_create(name="Old WMS")
    wms_key_revoke(wms_key=row)
    response = post(client, key, order(partner, owner))
    assert response.status_code == 401 and response.json()["error"]["code"] == "revoked_key"


def test_the_wms_api_is_not_in_the_affiliates_schema(client):
    assert "/internal/" not in client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()

