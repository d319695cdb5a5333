"""The outbox's rows set-based (issue #19): a few statements per call whatever the number of rows, on PostgreSQL in
one statement each; the ORM versions, for SQLite (the quick start), read and write exactly the same (tests check
both alike).

- reading withdrawal notices with the endpoints of their recipients (`notices_and_endpoints`);
- writing events and their delivery rows (`outbox_write`), in the transaction of the change they report;
- writing a sent batch's outcomes and its attempt log (`outcomes_write`).
"""

import json
from datetime import datetime
from typing import NamedTuple

from django.db import connection

from sharing.models import WithdrawalNotice

from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from .transport import Outcome


def endpoints_by_affiliate(affiliate_ids) -> dict[int, list[WebhookEndpoint]]:
    found: dict[int, list[WebhookEndpoint]] = {}
    # Disabled endpoints too (not deleted ones): what happens while one is off waits for it, and goes once it is on.
    for endpoint in WebhookEndpoint.objects.filter(affiliate_id__in=affiliate_ids, deleted_at__isnull=True,
                                                   affiliate__active=True).only("id", "affiliate_id", "events"):
        found.setdefault(endpoint.affiliate_id, []).append(endpoint)
    return found


NOTICE_COLUMNS = ["id", "public_id", "affiliate_id", "client_id", "client__public_id", "purpose__code", "reason", "fields",
                  "occurred_at"]
# The notices, each with every endpoint of its recipient not deleted (if the recipient is active), in one read: a
# withdrawal from many recipients calls this once per recipient, in the withdrawal's transaction.
_NOTICES_SQL = """
SELECT n.id, n.public_id, n.affiliate_id, n.client_id, c.public_id, p.code, n.reason, n.fields::text, n.occurred_at,
       e.id, e.events::text
FROM sharing_withdrawalnotice n
JOIN accounts_client c ON c.id = n.client_id
JOIN consent_purpose p ON p.id = n.purpose_id
LEFT JOIN (webhooks_webhookendpoint e JOIN sharing_affiliate a ON a.id = e.affiliate_id AND a.active)
  ON e.affiliate_id = n.affiliate_id AND e.deleted_at IS NULL
WHERE n.id = ANY(%s)
ORDER BY n.id, e.created_at, e.id
"""


def notices_and_endpoints(notice_ids: list[int]) -> tuple[list[dict], dict[int, list[WebhookEndpoint]]]:
    """The notices (as `values()` of NOTICE_COLUMNS, by id) and the endpoints of their recipients, by recipient."""
    if connection.vendor == "postgresql":
        return notices_and_endpoints_postgresql(notice_ids)
    return notices_and_endpoints_orm(notice_ids)


def notices_and_endpoints_orm(notice_ids: list[int]) -> tuple[list[dict], dict[int, list[WebhookEndpoint]]]:
    endpoints = endpoints_by_affiliate(WithdrawalNotice.objects.filter(pk__in=notice_ids).values("affiliate_id"))
    return list(WithdrawalNotice.objects.filter(pk__in=notice_ids).values(*NOTICE_COLUMNS).order_by("id")), endpoints


def notices_and_endpoints_postgresql(notice_ids: list[int]) -> tuple[list[dict], dict[int, list[WebhookEndpoint]]]:
    with connection.cursor() as cursor:
        cursor.execute(_NOTICES_SQL, [list(notice_ids)])
        rows = cursor.fetchall()
    notices, endpoints, seen = {}, {}, set()
    for *notice, endpoint_id, events in rows:
        if notice[0] not in notices:
            notices[notice[0]] = dict(zip(NOTICE_COLUMNS, notice, strict=True)) | {"fields": json.loads(notice[7])}
        if endpoint_id is not None and endpoint_id not in seen:
            seen.add(endpoint_id)
            endpoints.setdefault(notice[2], []).append(
                WebhookEndpoint(pk=endpoint_id, affiliate_id=notice[2], events=json.loads(events)))
    return list(notices.values()), endpoints


def outbox_write(events: list[WebhookEvent], targets: list[list[int]], *, at: datetime, until: datetime) -> None:
    """Insert `events` (unsaved; they come back saved) and, for each, a pending delivery to each of its `targets`."""
    (outbox_write_postgresql if connection.vendor == "postgresql" else outbox_write_orm)(events, targets, at=at, until=until)


def outbox_write_orm(events: list[WebhookEvent], targets: list[list[int]], *, at: datetime, until: datetime) -> None:
    WebhookEvent.objects.bulk_create(events, batch_size=2000)
    WebhookDelivery.objects.bulk_create([
        WebhookDelivery(event=event, endpoint_id=endpoint_id, next_attempt_at=at, created_at=at, retry_until=until)
        for event, subscribed in zip(events, targets, strict=True) for endpoint_id in subscribed], batch_size=2000)


# The events and their delivery rows in one statement, in the order given (ids follow it, as bulk_create's do).
_OUTBOX_SQL = """
WITH event AS (
  INSERT INTO webhooks_webhookevent (public_id, affiliate_id, type, payload, notice_id, client_id, created_at)
  SELECT public_id, affiliate_id, type, payload, notice_id, client_id, %(at)s
  FROM unnest(%(public_ids)s::uuid[], %(affiliates)s::bigint[], %(types)s::varchar[], %(payloads)s::jsonb[],
              %(notices)s::bigint[], %(clients)s::bigint[]) WITH ORDINALITY
       AS e(public_id, affiliate_id, type, payload, notice_id, client_id, n)
  ORDER BY n
  RETURNING id, public_id
), delivery AS (
  INSERT INTO webhooks_webhookdelivery (event_id, endpoint_id, status, attempts, next_attempt_at, last_error,
                                        retry_until, created_at)
  SELECT event.id, t.endpoint_id, 'pending', 0, %(at)s, '', %(until)s, %(at)s
  FROM unnest(%(target_events)s::uuid[], %(target_endpoints)s::bigint[]) WITH ORDINALITY AS t(public_id, endpoint_id, n)
  JOIN event ON event.public_id = t.public_id
  ORDER BY t.n
)
SELECT id, public_id FROM event
"""


def outbox_write_postgresql(events: list[WebhookEvent], targets: list[list[int]], *, at: datetime,
                             until: datetime) -> None:
    pairs = [(event.public_id, endpoint_id) for event, subscribed in zip(events, targets, strict=True)
             for endpoint_id in subscribed]
    with connection.cursor() as cursor:
        cursor.execute(_OUTBOX_SQL, {
            "public_ids": [e.public_id for e in events], "affiliates": [e.affiliate_id for e in events],
            "types": [e.type for e in events], "payloads": [json.dumps(e.payload) for e in events],
            "notices": [e.notice_id for e in events], "clients": [e.client_id for e in events],
            "target_events": [p[0] for p in pairs], "target_endpoints": [p[1] for p in pairs], "at": at, "until": until})
        ids = {public_id: pk for pk, public_id in cursor.fetchall()}
    for event in events:
        event.pk = ids[event.public_id]
        event._state.adding, event._state.db = False, connection.alias


class Written(NamedTuple):
    """What a claimed delivery becomes: its status, attempts and next attempt; `outcome` None when it was released
    untried (its last outcome, and its attempt log, stay as they were)."""

    id: int
    status: str
    attempts: int
    next_attempt_at: datetime
    outcome: Outcome | None


def outcomes_write(written: list[Written], *, now: datetime) -> None:
    """A sent batch: each delivery's new state and, for those tried, a row of the attempt log."""
    (outcomes_write_postgresql if connection.vendor == "postgresql" else outcomes_write_orm)(written, now=now)


# One statement for a whole batch: every delivery's new state and, for those tried, a row of the attempt log, in
# the order they were sent. Only what changed is written: a released row keeps its last outcome and delivered_at.
_OUTCOMES_SQL = """
WITH v AS (
  SELECT * FROM unnest(%(ids)s::bigint[], %(statuses)s::varchar[], %(attempts)s::smallint[],
                       %(next)s::timestamptz[], %(tried)s::boolean[], %(codes)s::smallint[], %(latencies)s::integer[],
                       %(errors)s::varchar[], %(excerpts)s::varchar[]) WITH ORDINALITY
       AS v(id, status, attempts, next_attempt_at, tried, code, latency, error, excerpt, n)
), written AS (
  UPDATE webhooks_webhookdelivery d SET status = v.status, attempts = v.attempts, claimed_at = NULL,
         next_attempt_at = v.next_attempt_at,
         delivered_at = CASE WHEN v.status = 'delivered' THEN %(now)s ELSE d.delivered_at END,
         last_status_code = CASE WHEN v.tried THEN v.code ELSE d.last_status_code END,
         last_latency_ms = CASE WHEN v.tried THEN v.latency ELSE d.last_latency_ms END,
         last_error = CASE WHEN v.tried THEN v.error ELSE d.last_error END
  FROM v WHERE d.id = v.id
)
INSERT INTO webhooks_webhookattempt (delivery_id, at, status_code, latency_ms, error, response_excerpt)
SELECT id, %(now)s, code, latency, error, excerpt FROM v WHERE tried ORDER BY n
"""


def outcomes_write_postgresql(written: list[Written], *, now: datetime) -> None:
    if not written:
        return
    tried = [w.outcome is not None for w in written]
    with connection.cursor() as cursor:
        cursor.execute(_OUTCOMES_SQL, {
            "ids": [w.id for w in written], "statuses": [w.status for w in written],
            "attempts": [w.attempts for w in written], "next": [w.next_attempt_at for w in written], "tried": tried,
            "codes": [w.outcome.status_code if w.outcome else None for w in written],
            "latencies": [w.outcome.latency_ms if w.outcome else None for w in written],
            "errors": [w.outcome.error[:500] if w.outcome else "" for w in written],
            "excerpts": [w.outcome.excerpt[:1024] if w.outcome else "" for w in written], "now": now})


def outcomes_write_orm(written: list[Written], *, now: datetime) -> None:
    """The same through the ORM (SQLite, the quick start): a few bulk updates and the attempt log."""
    delivered, tried, untried, attempts = [], [], [], []
    for w in written:
        row = WebhookDelivery(pk=w.id, status=w.status, attempts=w.attempts, claimed_at=None,
                              next_attempt_at=w.next_attempt_at)
        if w.outcome is None:
            untried.append(row)
            continue
        row.last_status_code, row.last_latency_ms = w.outcome.status_code, w.outcome.latency_ms
        row.last_error = w.outcome.error[:500]
        if w.status == WebhookDelivery.Status.DELIVERED:
            row.delivered_at = now
            delivered.append(row)
        else:
            tried.append(row)
        attempts.append(WebhookAttempt(delivery_id=w.id, at=now, status_code=w.outcome.status_code,
                                       latency_ms=w.outcome.latency_ms, error=w.outcome.error[:500],
                                       response_excerpt=w.outcome.excerpt[:1024]))
    common = ["status", "attempts", "claimed_at", "next_attempt_at"]
    outcome = ["last_status_code", "last_latency_ms", "last_error"]
    if delivered:
        WebhookDelivery.objects.bulk_update(delivered, [*common, "delivered_at", *outcome], batch_size=1000)
    if tried:
        WebhookDelivery.objects.bulk_update(tried, [*common, *outcome], batch_size=1000)
    if untried:
        WebhookDelivery.objects.bulk_update(untried, common, batch_size=1000)
    WebhookAttempt.objects.bulk_create(attempts, batch_size=1000)
