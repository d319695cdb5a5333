"""Sending the outbox (issue #19): claim a batch of an endpoint's due deliveries, sign and POST each, record the
outcomes, retry with backoff, and sweep up after workers that died.

At least once, never twice under normal operation: a delivery is claimed (pending → sending) by one worker only
(`FOR UPDATE SKIP LOCKED`); a worker killed mid-batch leaves rows in `sending`, which the sweeper puts back after
WEBHOOK_STUCK_SECONDS, to be sent again with the same `webhook-id` so the recipient can tell it already has it.
A transaction that commits while Redis is down leaves its rows pending: the sweeper (every few seconds, from beat)
queues every endpoint with due rows. Costs a handful of statements per batch of up to BATCH_SIZE, not per delivery.
"""

import json
import logging
import random
import time
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from sharing.models import WithdrawalNotice

from .destinations import DestinationRefused, destination_resolve
from .models import ACKNOWLEDGING, EventType, WebhookDelivery, WebhookEndpoint
from .outbox import Written, outcomes_write
from .secrets import secret_decrypt, signature_header
from .transport import Outcome, post

logger = logging.getLogger(__name__)

BATCH_SIZE = 200
# 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, then every 10 h, until WEBHOOK_RETRY_HOURS (72) after the event.
BACKOFF_SECONDS = [5, 300, 1800, 7200, 18000, 36000]
JITTER = 0.1
KICK_TTL = 60
Status = WebhookDelivery.Status


def _kick_key(endpoint_id: int) -> str:
    return f"webhooks:scheduled:{endpoint_id}"


def endpoints_kick(endpoint_ids) -> None:
    """Queue one sending task per endpoint, unless one is already queued: many changes committing at once cost one
    task per endpoint, not one per change. Broker or cache down: nothing is queued, the sweeper queues it later."""
    from .tasks import deliver_endpoint

    for endpoint_id in endpoint_ids:
        try:
            if not cache.add(_kick_key(endpoint_id), 1, KICK_TTL):
                continue
            deliver_endpoint.delay(endpoint_id)
        except Exception:  # broker or cache unreachable: the rows stay pending and the sweeper queues them
            logger.warning("Could not queue webhook deliveries of endpoint %s; the sweeper will.", endpoint_id,
                           exc_info=True)
            try:
                cache.delete(_kick_key(endpoint_id))
            except Exception:  # nosec B110  # the key expires by itself
                pass


def retry_delay(attempts: int) -> timedelta:
    """After the n-th failed attempt (n from 1), with ±10 % jitter so that many retries do not arrive together."""
    base = BACKOFF_SECONDS[min(attempts, len(BACKOFF_SECONDS)) - 1]
    return timedelta(seconds=base * random.uniform(1 - JITTER, 1 + JITTER))  # nosec B311  # jitter, not a secret


def retry_window() -> timedelta:
    return timedelta(hours=float(getattr(settings, "WEBHOOK_RETRY_HOURS", 72)))


def _claim(endpoint_id: int, *, now: datetime, limit: int) -> list[tuple]:
    """(delivery id, attempts, retry_until, event public id, type, payload, notice id) of up to `limit` due rows,
    now `sending`."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "WITH due AS (SELECT id FROM webhooks_webhookdelivery WHERE endpoint_id = %s AND status = 'pending' "
                "AND next_attempt_at <= %s ORDER BY next_attempt_at, id LIMIT %s FOR UPDATE SKIP LOCKED) "
                "UPDATE webhooks_webhookdelivery d SET status = 'sending', claimed_at = %s, attempts = d.attempts + 1 "
                "FROM due, webhooks_webhookevent e WHERE d.id = due.id AND e.id = d.event_id "
                "RETURNING d.id, d.attempts, d.retry_until, e.public_id, e.type, e.payload::text, e.notice_id",
                [endpoint_id, now, limit, now])
            rows = cursor.fetchall()
        return sorted(((r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6]) for r in rows), key=lambda r: r[0])
    with transaction.atomic():
        ids = list(WebhookDelivery.objects.filter(endpoint_id=endpoint_id, status=Status.PENDING, next_attempt_at__lte=now)
                   .order_by("next_attempt_at", "id").values_list("id", flat=True)[:limit])
        WebhookDelivery.objects.filter(pk__in=ids, status=Status.PENDING).update(
            status=Status.SENDING, claimed_at=now, attempts=F("attempts") + 1)
        rows = (WebhookDelivery.objects.filter(pk__in=ids, status=Status.SENDING, claimed_at=now).order_by("id")
                .values_list("id", "attempts", "retry_until", "event__public_id", "event__type", "event__payload",
                             "event__notice_id"))
        return list(rows)


def secrets_in_force(endpoint: WebhookEndpoint, *, now: datetime) -> list[str]:
    secrets = [secret_decrypt(endpoint.secret_encrypted)]
    if endpoint.previous_secret_encrypted and endpoint.previous_secret_until and endpoint.previous_secret_until > now:
        secrets.append(secret_decrypt(endpoint.previous_secret_encrypted))
    return secrets


def body_of(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def _send(destination, secrets, *, public_id, payload) -> Outcome:
    webhook_id, timestamp, body = f"msg_{public_id.hex}", int(time.time()), body_of(payload)
    return post(destination, body=body, headers={
        "webhook-id": webhook_id, "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets=secrets, webhook_id=webhook_id, timestamp=timestamp, body=body)})


def _endpoint_level(outcome: Outcome) -> bool:
    """A failure that says the endpoint, not this message, is in trouble: no answer, 3xx, 408, 429 or 5xx. The rest
    of the batch then waits for the next try rather than each timing out in turn."""
    code = outcome.status_code
    return code is None or code < 200 or 300 <= code < 400 or code in (408, 429) or code >= 500


LOCK_CLASS = 19019  # the advisory-lock namespace of webhook endpoints (PostgreSQL: two-int keys)


@contextmanager
def endpoint_lock(endpoint_id: int):
    """One sender per endpoint at a time (PostgreSQL advisory lock, held by the session: it goes with a dead worker's
    connection). Yields whether this process got it; on SQLite (the quick start, one process) always."""
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_CLASS, endpoint_id])
        got = cursor.fetchone()[0]
    try:
        yield got
    finally:
        if got:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS, endpoint_id])


def endpoint_deliver(*, endpoint_id: int, budget_seconds: float | None = None) -> dict:
    """Send the endpoint's due deliveries, batch after batch, for at most `budget_seconds` (then queue itself again so
    that other endpoints get their turn). Only one sender per endpoint at a time: another finds it busy and leaves
    (the busy one goes on while rows are due). Returns counts."""
    try:
        cache.delete(_kick_key(endpoint_id))  # a change committing from now on queues another run
    except Exception:  # nosec B110  # the key expires by itself
        pass
    with endpoint_lock(endpoint_id) as mine:
        if not mine:
            return {"delivered": 0, "failed_attempts": 0, "gave_up": 0, "busy": True}
        return _endpoint_deliver(endpoint_id=endpoint_id, budget_seconds=budget_seconds)


def _endpoint_deliver(*, endpoint_id: int, budget_seconds: float | None) -> dict:
    budget = budget_seconds if budget_seconds is not None else float(getattr(settings, "WEBHOOK_BATCH_SECONDS", 30))
    started, counts = time.monotonic(), {"delivered": 0, "failed_attempts": 0, "gave_up": 0}
    while True:
        endpoint = WebhookEndpoint.objects.select_related("affiliate").filter(pk=endpoint_id).first()
        if endpoint is None or not endpoint.enabled or endpoint.deleted_at or not endpoint.affiliate.active:
            return counts
        now = timezone.now()
        batch = _claim(endpoint_id, now=now, limit=BATCH_SIZE)
        if not batch:
            return counts
        stop = _batch_send(endpoint, batch, counts, deadline=started + budget)
        if stop:
            return counts
        if time.monotonic() - started > budget:
            endpoints_kick([endpoint_id])
            return counts


def _batch_send(endpoint: WebhookEndpoint, batch: list[tuple], counts: dict, *, deadline: float | None = None) -> bool:
    """Send a claimed batch; True when the endpoint should not be tried further now. Past `deadline` (a slow
    recipient), the rest of the batch is released untried, so that other endpoints get their turn."""
    now = timezone.now()
    outcomes: list[tuple[tuple, Outcome]] = []
    try:
        secrets = secrets_in_force(endpoint, now=now)  # ValueError: WEBHOOK_SECRET_KEY changed since it was stored
        destination = destination_resolve(endpoint.url)
    except (DestinationRefused, ValueError) as exc:
        prefix = "refused" if isinstance(exc, DestinationRefused) else "not signed"
        outcomes.append((batch[0], Outcome(None, 0, error=f"{prefix}: {exc}"[:500])))
        _record(endpoint, outcomes, released=batch[1:])
        counts["failed_attempts"] += 1
        return True
    stop, released = False, []
    for index, row in enumerate(batch):
        if deadline is not None and index and time.monotonic() > deadline:
            released = batch[index:]
            break
        payload = row[5]
        if row[4] == EventType.CLIENT_RECTIFIED and "values" in payload.get("data", {}):
            from .events import corrected_values_still_permitted, corrected_values_withhold  # events imports us
        if row[4] == EventType.CLIENT_RECTIFIED and "values" in payload.get("data", {}) and not \
                corrected_values_still_permitted(affiliate=endpoint.affiliate, data=payload["data"]):
            payload = corrected_values_withhold(event_public_id=row[3], payload=payload)
        outcome = _send(destination, secrets, public_id=row[3], payload=payload)
        outcomes.append((row, outcome))
        if outcome.delivered:
            counts["delivered"] += 1
            continue
        counts["failed_attempts"] += 1
        if outcome.status_code == 410 or _endpoint_level(outcome):
            stop, released = True, batch[index + 1:]
            break
    _record(endpoint, outcomes, released=released)
    return stop


def _record(endpoint: WebhookEndpoint, outcomes: list[tuple[tuple, Outcome]], *, released: list[tuple]) -> None:
    """The batch's outcomes in a few statements: the deliveries, their attempt log, the notices a 2xx
    acknowledges, the endpoint's health. Rows `released` were claimed but not tried: pending again, uncounted."""
    now = timezone.now()
    written, acknowledged = [], []
    gone, next_try = False, None
    for (delivery_id, tries, retry_until, _public_id, type, _payload, notice_id), outcome in outcomes:
        if outcome.delivered:
            written.append(Written(delivery_id, Status.DELIVERED, tries, now, outcome))
            if type in ACKNOWLEDGING and notice_id:
                acknowledged.append(notice_id)
            continue
        gone = gone or outcome.status_code == 410
        retry_at = now + retry_delay(tries)
        if retry_at > retry_until and not gone:
            written.append(Written(delivery_id, Status.FAILED, tries, now, outcome))
        else:
            written.append(Written(delivery_id, Status.PENDING, tries, retry_at, outcome))
            next_try = retry_at
    for delivery_id, tries, *_rest in released:
        written.append(Written(delivery_id, Status.PENDING, tries - 1, next_try or now, None))
    with transaction.atomic():
        outcomes_write(written, now=now)
        if acknowledged:  # GDPR Art. 19: the recipient confirmed it was told (the withdrawal feed's acknowledgement)
            WithdrawalNotice.objects.filter(pk__in=acknowledged, acknowledged_at__isnull=True).update(acknowledged_at=now)
        _health_update(endpoint, outcomes=[o for _r, o in outcomes], gone=gone, now=now)


def _health_update(endpoint: WebhookEndpoint, *, outcomes: list[Outcome], gone: bool, now: datetime) -> None:
    trailing = 0
    for outcome in reversed(outcomes):
        if outcome.delivered:
            break
        trailing += 1
    updates = {}
    if trailing < len(outcomes):  # a success in this batch: the count starts again after it
        updates.update(failures_in_row=trailing, last_success_at=now, failing_since=now if trailing else None,
                       alerted_at=None)
    elif trailing:
        updates.update(failures_in_row=endpoint.failures_in_row + trailing, failing_since=endpoint.failing_since or now)
    if gone:
        updates.update(enabled=False, disabled_reason=f"The endpoint answered 410 Gone on {now:%Y-%m-%d %H:%M} UTC.")
    if updates:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(**updates)
    if gone and endpoint.enabled:
        from .alerts import endpoint_gone_alert

        endpoint_gone_alert(endpoint=endpoint, now=now)


def stuck_after() -> timedelta:
    return timedelta(seconds=float(getattr(settings, "WEBHOOK_STUCK_SECONDS", 120)))


def deliveries_sweep(*, now: datetime | None = None) -> dict:
    """Put back what dead workers left `sending`, then queue every endpoint with due rows (retries that came due,
    rows whose transaction committed while the broker was down)."""
    now = now or timezone.now()
    stuck = 0
    stuck_rows = WebhookDelivery.objects.filter(status=Status.SENDING, claimed_at__lt=now - stuck_after())
    for endpoint_id in stuck_rows.values_list("endpoint_id", flat=True).distinct().order_by("endpoint_id"):
        with endpoint_lock(endpoint_id) as free:  # held: its sender is alive (slow), and will record its rows
            if free:
                stuck += stuck_rows.filter(endpoint_id=endpoint_id).update(
                    status=Status.PENDING, claimed_at=None, next_attempt_at=now,
                    last_error="The worker stopped while sending; sent again with the same webhook-id.")
    due = list(WebhookDelivery.objects.filter(status=Status.PENDING, next_attempt_at__lte=now,
                                              endpoint__enabled=True, endpoint__deleted_at__isnull=True,
                                              endpoint__affiliate__active=True)
               .values_list("endpoint_id", flat=True).distinct().order_by("endpoint_id")[:1000])
    endpoints_kick(due)
    from .alerts import failing_endpoints_alert

    alerted = failing_endpoints_alert(now=now)
    return {"stuck_requeued": stuck, "endpoints_queued": len(due), "alerted": alerted}
