"""The outbox is written in the withdrawal's transaction with two statements per call on PostgreSQL (one read of the
notices with their recipients' endpoints, one insert of events and delivery rows); the ORM path of the SQLite quick
start must read and write exactly the same, and a notice never picks up another recipient's endpoints."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from consent.models import Channel, ConsentAction
from consent.services import consent_record
from sharing.models import Affiliate, WithdrawalNotice
from sharing.services import sharing_records_write
from tests.conftest import make_client
from tests.sharing.conftest import recipient_purpose
from webhooks.events import Draft, events_for_notices, payload
from webhooks.models import WebhookDelivery, WebhookEvent
from webhooks.outbox import (
    notices_and_endpoints_orm,
    notices_and_endpoints_postgresql,
    outbox_write_orm,
    outbox_write_postgresql,
)
from webhooks.services import endpoint_change, endpoint_create, endpoint_delete

from .helpers import ALL_EVENTS, client_held_by, recipient_with_endpoint

pytestmark = pytest.mark.django_db


class Rollback(Exception):
    pass


@pytest.fixture
def world(private_networks):
    """Three recipients: one with two live endpoints, a disabled one (its rows wait for it) and a deleted one, one
    inactive with an endpoint, one outsider with an endpoint of its own; a notice for each of the first two, two for
    the outsider."""
    ads, first, _ = recipient_with_endpoint("http://127.0.0.1:9/first", name="Ads Network")
    second, _ = endpoint_create(affiliate=ads, url="http://127.0.0.1:9/second", events=["consent.withdrawn"])
    off = endpoint_change(endpoint=endpoint_create(affiliate=ads, url="http://127.0.0.1:9/off", events=ALL_EVENTS)[0],
                          enabled=False)
    endpoint_delete(endpoint=endpoint_create(affiliate=ads, url="http://127.0.0.1:9/gone", events=ALL_EVENTS)[0])
    dormant, _, _ = recipient_with_endpoint("http://127.0.0.1:9/dormant", name="Dormant Partner")
    Affiliate.objects.filter(pk=dormant.pk).update(active=False)
    outsider, other, _ = recipient_with_endpoint("http://127.0.0.1:9/other", name="Outsider Company")
    client = make_client("held@example.com")
    purpose = ads.agreements.first().purpose
    at = timezone.now()
    notices = [WithdrawalNotice.objects.create(affiliate=a, client=client, purpose=purpose, reason=reason, fields=fields,
                                               occurred_at=at)
               for a, reason, fields in [(ads, "consent-withdrawn", []), (dormant, "erasure", []),
                                         (outsider, "rectified", ["email"]), (outsider, "gpc", [])]]
    return {"ads": ads, "outsider": outsider, "endpoints": [first, second, other], "off": off, "notices": notices}


def _shape(endpoints):
    return {affiliate_id: [(e.pk, e.events) for e in found] for affiliate_id, found in endpoints.items()}


def test_the_notices_and_their_recipients_endpoints_are_read_alike_in_one_statement(world):
    ids = [n.pk for n in world["notices"]]
    with CaptureQueriesContext(connection) as one_read:
        notices, endpoints = notices_and_endpoints_postgresql(ids)
    orm_notices, orm_endpoints = notices_and_endpoints_orm(ids)

    assert len(one_read) == 1
    assert notices == orm_notices
    assert _shape(endpoints) == _shape(orm_endpoints)
    first, second, other = world["endpoints"]
    off = world["off"]
    assert _shape(endpoints) == {world["ads"].pk: [(first.pk, first.events), (second.pk, second.events),
                                                   (off.pk, off.events)],
                                 world["outsider"].pk: [(other.pk, other.events)]}  # never another recipient's


def _written_by(writer, drafts, targets, *, at):
    events = [WebhookEvent(public_id=d.public_id, affiliate_id=d.affiliate_id, type=d.type, notice_id=d.notice_id,
                           client_id=d.client_id, payload=payload(type=d.type, data=d.data, at=at), created_at=at)
              for d in drafts]
    try:
        with transaction.atomic():
            writer(events, targets, at=at, until=at + timedelta(hours=72))
            returned = [(e.pk, e.public_id) for e in events]
            stored = list(WebhookEvent.objects.filter(public_id__in=[d.public_id for d in drafts]).order_by("pk")
                          .values_list("pk", "public_id", "affiliate_id", "type", "payload", "notice_id", "client_id",
                                       "created_at"))
            deliveries = list(WebhookDelivery.objects.filter(event__public_id__in=[d.public_id for d in drafts])
                              .order_by("pk").values_list("event__public_id", "endpoint_id", "status", "attempts",
                                                          "next_attempt_at", "claimed_at", "last_status_code",
                                                          "last_latency_ms", "last_error", "delivered_at", "retry_until",
                                                          "created_at"))
            raise Rollback
    except Rollback:
        pass
    assert returned == [row[:2] for row in stored]  # the events come back saved, with their ids
    first_id = stored[0][0]
    return [(row[0] - first_id, *row[1:]) for row in stored], deliveries


def test_the_events_and_delivery_rows_are_written_alike_in_one_statement(world):
    first, second, other = world["endpoints"]
    notice, *_ = world["notices"]
    drafts = [Draft(affiliate_id=world["ads"].pk, type="consent.withdrawn", notice_id=notice.pk, client_id=notice.client_id,
                    data={"notice_id": str(notice.public_id), "reason": "consent-withdrawn", "名前": "引用\"符"}),
              Draft(affiliate_id=world["outsider"].pk, type="agreement.changed", data={"change": "ended", "fields": []}),
              Draft(affiliate_id=world["ads"].pk, type="policy.amended", data={"version": "2.0"},
                    public_id=uuid.uuid4())]
    targets = [[first.pk, second.pk], [other.pk], [first.pk]]
    at = timezone.now()

    by_statement = _written_by(outbox_write_postgresql, drafts, targets, at=at)
    by_orm = _written_by(outbox_write_orm, drafts, targets, at=at)

    assert by_statement == by_orm
    assert [(d[0], d[1]) for d in by_statement[1]] == [(drafts[0].public_id, first.pk), (drafts[0].public_id, second.pk),
                                                       (drafts[1].public_id, other.pk), (drafts[2].public_id, first.pk)]


def test_a_withdrawal_notice_costs_two_statements_of_webhooks(world, django_capture_on_commit_callbacks):
    notice = world["notices"][0]
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks():
        events_for_notices([notice.pk])
    first, second, _other = world["endpoints"]
    assert len(queries) == 2
    assert sorted(WebhookDelivery.objects.filter(event__notice=notice).values_list("endpoint_id", flat=True)) == sorted(
        [first.pk, second.pk, world["off"].pk])


def test_a_withdrawal_from_many_recipients_queues_their_endpoints_once_after_commit(private_networks, monkeypatch,
                                                                                    django_capture_on_commit_callbacks):
    import webhooks.events

    ads, first, _ = recipient_with_endpoint("http://127.0.0.1:9/first", name="Ads Network")
    news, second, _ = recipient_with_endpoint("http://127.0.0.1:9/second", name="News Company")
    client = client_held_by(ads)
    consent_record(client=client, purpose=recipient_purpose(news), action=ConsentAction.GRANT, channel=Channel.PORTAL)
    sharing_records_write(affiliate=news, purpose=recipient_purpose(news).parent, fields=["email"], client_ids=[client.pk],
                          api_key=None, request_id=uuid.uuid4(), at=timezone.now() - timedelta(minutes=1))
    queued = []
    monkeypatch.setattr(webhooks.events, "endpoints_kick", queued.append)

    with django_capture_on_commit_callbacks() as callbacks:
        consent_record(client=client, purpose=recipient_purpose(ads).parent, action=ConsentAction.WITHDRAW,
                       channel=Channel.PORTAL)
    assert WebhookDelivery.objects.filter(event__client=client).count() == 2 and not queued  # nothing before commit
    for callback in callbacks:
        callback()
    assert queued == [sorted([first.pk, second.pk])]
