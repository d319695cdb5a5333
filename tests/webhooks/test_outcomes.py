"""A batch's outcomes are written in one statement on PostgreSQL (webhooks/outbox.py); the ORM path of the SQLite
quick start must write exactly the same rows, and a batch cut short must leave the untried rows as they were."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from webhooks.delivery import _claim, endpoint_deliver
from webhooks.events import test_event_send as send_test_event
from webhooks.models import WebhookAttempt, WebhookDelivery
from webhooks.outbox import Written, outcomes_write_orm, outcomes_write_postgresql
from webhooks.transport import Outcome

from .helpers import recipient_with_endpoint

pytestmark = pytest.mark.django_db

DELIVERY_FIELDS = ["status", "attempts", "next_attempt_at", "claimed_at", "last_status_code", "last_latency_ms",
                   "last_error", "delivered_at", "retry_until"]
ATTEMPT_FIELDS = ["delivery_id", "at", "status_code", "latency_ms", "error", "response_excerpt"]


class Rollback(Exception):
    pass


def _written_by(writer, batch, *, now):
    """What `writer` makes of a batch: delivered, retried, given up, released untried (rolled back afterwards)."""
    later, gave_up = now + timedelta(seconds=5), now
    written = [
        Written(batch[0][0], "delivered", batch[0][1], now, Outcome(200, 12, excerpt="ok")),
        Written(batch[1][0], "pending", batch[1][1], later, Outcome(503, 30, error="HTTP 503", excerpt="busy" * 300)),
        Written(batch[2][0], "failed", batch[2][1], gave_up, Outcome(None, 10_000, error="timed out (ReadTimeoutError)")),
        Written(batch[3][0], "pending", batch[3][1] - 1, later, None),
    ]
    ids = [row[0] for row in batch]
    try:
        with transaction.atomic():
            writer(written, now=now)
            rows = list(WebhookDelivery.objects.filter(pk__in=ids).order_by("pk").values_list(*DELIVERY_FIELDS))
            attempts = list(WebhookAttempt.objects.filter(delivery_id__in=ids).order_by("pk").values_list(*ATTEMPT_FIELDS))
            raise Rollback
    except Rollback:
        return rows, attempts


def test_the_one_statement_and_the_orm_write_the_same_outcomes(private_networks):
    _affiliate, endpoint, _secret = recipient_with_endpoint("http://127.0.0.1:9/hooks")
    events = [send_test_event(endpoint=endpoint) for _ in range(4)]
    # The one to be released untried had an earlier answer: it must keep it.
    WebhookDelivery.objects.filter(event=events[3]).update(attempts=1, last_status_code=502, last_latency_ms=7,
                                                           last_error="HTTP 502")
    now = timezone.now()
    batch = _claim(endpoint.pk, now=now, limit=10)
    assert [row[1] for row in batch] == [1, 1, 1, 2]

    by_statement = _written_by(outcomes_write_postgresql, batch, now=now)
    by_orm = _written_by(outcomes_write_orm, batch, now=now)

    assert by_statement == by_orm
    rows, attempts = by_statement
    assert [r[0] for r in rows] == ["delivered", "pending", "failed", "pending"]
    assert rows[0][7] == now and rows[1][7] is None
    assert rows[3][1:7] == (1, now + timedelta(seconds=5), None, 502, 7, "HTTP 502")  # released: its last answer kept
    assert [a[2] for a in attempts] == [200, 503, None]  # no attempt logged for the row never tried
    assert len(attempts[1][5]) == 1024


def test_a_batch_stopped_by_a_failing_endpoint_releases_the_rest_untried(receiver, private_networks):
    _affiliate, endpoint, _secret = recipient_with_endpoint(receiver.url)
    events = [send_test_event(endpoint=endpoint) for _ in range(5)]
    deliveries = {d.event_id: d for d in WebhookDelivery.objects.filter(endpoint=endpoint)}
    first_two = [deliveries[e.pk].pk for e in events[:2]]
    WebhookDelivery.objects.exclude(pk__in=first_two).filter(endpoint=endpoint).update(
        next_attempt_at=timezone.now() + timedelta(hours=1))
    assert endpoint_deliver(endpoint_id=endpoint.pk)["delivered"] == 2
    # Then the endpoint fails: the third is retried later, the last two go back untouched.
    receiver.fail_next(1, status=500)
    WebhookDelivery.objects.filter(endpoint=endpoint, status="pending").update(next_attempt_at=timezone.now())
    counts = endpoint_deliver(endpoint_id=endpoint.pk)

    assert counts == {"delivered": 0, "failed_attempts": 1, "gave_up": 0}
    rows = {d.event_id: d for d in WebhookDelivery.objects.filter(endpoint=endpoint)}
    tried, *released = (rows[e.pk] for e in events[2:])
    assert (tried.status, tried.attempts, tried.last_status_code) == ("pending", 1, 500)
    for row in released:
        assert (row.status, row.attempts, row.last_status_code, row.claimed_at) == ("pending", 0, None, None)
        assert row.next_attempt_at == tried.next_attempt_at
    assert WebhookAttempt.objects.filter(delivery__endpoint=endpoint).count() == 3


def test_an_answer_with_nul_bytes_is_recorded_like_any_other(receiver, private_networks):
    _affiliate, endpoint, _secret = recipient_with_endpoint(receiver.url)
    event = send_test_event(endpoint=endpoint)
    receiver.body = b"ok\x00\x00 from a hostile recipient"

    assert endpoint_deliver(endpoint_id=endpoint.pk)["delivered"] == 1
    attempt = WebhookAttempt.objects.get(delivery__event=event)
    assert attempt.response_excerpt == "ok\ufffd\ufffd from a hostile recipient"
    assert WebhookDelivery.objects.get(event=event).status == "delivered"
