"""Retries, health and the recipient's answers (issue #19): backoff with jitter for three days, 410 disables the
endpoint, a dead endpoint does not make each message of a batch time out in turn, answers are truncated in the log,
and a rotated secret signs alongside the new one during the overlap."""

from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from webhooks.delivery import BACKOFF_SECONDS, deliveries_sweep, retry_delay
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.services import deliveries_redeliver, endpoint_rotate

from .helpers import client_held_by, recipient_with_endpoint, verified, withdraw

pytestmark = pytest.mark.django_db


def test_the_backoff_grows_from_seconds_to_ten_hours_with_jitter():
    for attempt, base in enumerate([5, 300, 1800, 7200, 18000, 36000, 36000, 36000], start=1):
        delays = {retry_delay(attempt).total_seconds() for _ in range(20)}
        assert all(0.9 * base <= d <= 1.1 * base for d in delays) and len(delays) > 1
    assert BACKOFF_SECONDS[-1] == 36000


def test_a_delivery_is_retried_for_three_days_then_given_up_and_can_be_redelivered(receiver, told):
    affiliate, endpoint, _secret = recipient_with_endpoint(receiver.url)
    receiver.status = 500
    told(withdraw, client_held_by(affiliate), affiliate)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    attempts = 1
    while delivery.status == "pending":  # each retry comes due at once: the time it would have waited is taken off
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            next_attempt_at=timezone.now(), retry_until=delivery.retry_until - (delivery.next_attempt_at - timezone.now()))
        deliveries_sweep()
        delivery.refresh_from_db()
        attempts += 1
        assert attempts < 30
    assert delivery.status == "failed" and delivery.attempts >= 8  # 5 s … 10 h, then every 10 h, past 72 h
    endpoint.refresh_from_db()
    assert endpoint.failures_in_row == delivery.attempts and endpoint.failing_since is not None
    receiver.status = 200
    told(deliveries_redeliver, delivery_ids=[delivery.pk])
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and len({r.webhook_id for r in receiver.received}) == 1
    endpoint.refresh_from_db()
    assert endpoint.failures_in_row == 0 and endpoint.failing_since is None and endpoint.last_success_at


def test_410_gone_disables_the_endpoint_keeps_what_was_not_delivered_and_tells_the_partner_managers(receiver, told):
    from accounts.services import staff_user_ensure
    from notify.models import OutboundMessage
    from tests.conftest import PASSWORD

    manager = staff_user_ensure(email="partners@example.com", password=PASSWORD, groups=["Partner managers"])
    affiliate, endpoint, _secret = recipient_with_endpoint(receiver.url)
    receiver.status = 410
    told(withdraw, client_held_by(affiliate), affiliate)
    told(withdraw, client_held_by(affiliate), affiliate)
    endpoint.refresh_from_db()
    assert not endpoint.enabled and "410" in endpoint.disabled_reason
    assert len(receiver.received) == 1
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"pending"}
    [alert] = OutboundMessage.objects.filter(kind="webhook-gone")
    assert alert.to == manager.email and "410 Gone" in alert.subject and endpoint.url in alert.body


def test_a_dead_endpoint_costs_one_attempt_per_batch_not_one_per_message(receiver, told, settings):
    affiliate, endpoint, _secret = recipient_with_endpoint(receiver.url)
    clients = [client_held_by(affiliate) for _ in range(3)]
    receiver.status = 503
    from django.db import transaction

    def withdraw_all():
        with transaction.atomic():
            for client in clients:
                withdraw(client, affiliate)
    told(withdraw_all)
    assert len(receiver.received) == 1
    rows = WebhookDelivery.objects.filter(endpoint=endpoint).order_by("id")
    assert [r.attempts for r in rows] == [1, 0, 0]
    assert len({r.next_attempt_at for r in rows}) == 1  # the rest wait for the same retry


def test_a_timeout_is_a_failed_attempt_and_a_long_answer_is_truncated_in_the_log(receiver, told, settings):
    affiliate, endpoint, _secret = recipient_with_endpoint(receiver.url)
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    receiver.delay = 2
    told(withdraw, client_held_by(affiliate), affiliate)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.status == "pending" and "timed out" in delivery.last_error and delivery.last_status_code is None
    receiver.delay, receiver.status, receiver.body = 0, 400, b"x" * 5000
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    deliveries_sweep()
    attempt = WebhookAttempt.objects.filter(delivery=delivery).order_by("-id").first()
    assert attempt.status_code == 400 and len(attempt.response_excerpt) == 1024


def test_during_a_rotation_both_secrets_sign_and_after_the_overlap_only_the_new_one(receiver, told, settings):
    affiliate, endpoint, old = recipient_with_endpoint(receiver.url)
    new = endpoint_rotate(endpoint=endpoint)
    assert new != old and new.startswith("whsec_")
    told(withdraw, client_held_by(affiliate), affiliate)
    [during] = receiver.received
    assert verified(during, old) == verified(during, new)
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(previous_secret_until=timezone.now() - timedelta(seconds=1))
    told(withdraw, client_held_by(affiliate), affiliate)
    after = receiver.received[-1]
    verified(after, new)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(after.body, {k: after.headers[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")})


def test_a_recipient_trickling_its_answer_a_byte_at_a_time_is_cut_off_at_the_timeout(settings):
    """urllib3's timeout bounds each read; the whole request is bounded too (the watchdog), so a recipient sending a
    byte just before each read would time out cannot hold a worker."""
    import socket
    import threading
    import time

    from webhooks.destinations import Destination
    from webhooks.transport import post

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    stop = threading.Event()

    def trickle():
        conn, _ = server.accept()
        conn.recv(65536)
        try:
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1000:
                if stop.is_set():
                    break
                conn.sendall(bytes([byte]))
                time.sleep(0.3)
        except OSError:
            pass
        conn.close()

    threading.Thread(target=trickle, daemon=True).start()
    settings.WEBHOOK_TIMEOUT_SECONDS = 1
    started = time.monotonic()
    try:
        outcome = post(Destination(scheme="http", host="127.0.0.1", port=server.getsockname()[1], target="/",
                                   address="127.0.0.1"), body=b"{}", headers={})
    finally:
        stop.set()
        server.close()
    assert time.monotonic() - started < 2.5
    assert not outcome.delivered and "timed out" in outcome.error


def test_a_secret_unreadable_after_the_key_changed_is_a_failed_attempt_and_rotating_replaces_it(receiver, told, settings):
    affiliate, endpoint, _old = recipient_with_endpoint(receiver.url)
    settings.WEBHOOK_SECRET_KEY = "another-key-than-the-one-the-secret-was-stored-with"
    told(withdraw, client_held_by(affiliate), affiliate)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.status == "pending" and "not signed" in delivery.last_error and receiver.received == []
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None  # the outage counts, and alerts in time
    new = endpoint_rotate(endpoint=endpoint)
    endpoint.refresh_from_db()
    assert endpoint.previous_secret_encrypted == ""  # nothing unreadable kept for the overlap
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    deliveries_sweep()
    [request] = receiver.received
    verified(request, new)


def test_one_sender_per_endpoint_and_a_live_senders_rows_are_not_swept_from_under_it(receiver, told, settings):
    """Another process holding the endpoint (a slow sender, alive): a second sender leaves it, and the sweeper does
    not hand its rows to anyone else (which would send them twice); once it is gone, its rows are sent again."""
    import psycopg
    from django.db import connection

    from webhooks.delivery import LOCK_CLASS

    affiliate, endpoint, secret = recipient_with_endpoint(receiver.url)
    params = connection.get_connection_params()
    other = psycopg.connect(host=params.get("host"), port=params.get("port"), user=params.get("user"),
                            dbname=params["dbname"], autocommit=True)
    try:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_CLASS, endpoint.pk])
        told(withdraw, client_held_by(affiliate), affiliate)
        assert receiver.received == []  # the sender queued on commit found the endpoint busy
        WebhookDelivery.objects.filter(endpoint=endpoint).update(status="sending",
                                                                  claimed_at=timezone.now() - timedelta(hours=1))
        assert deliveries_sweep()["stuck_requeued"] == 0
    finally:
        other.close()  # the slow sender's process dies: its lock goes with its connection
    assert deliveries_sweep()["stuck_requeued"] == 1
    deliveries_sweep()
    [request] = receiver.received
    verified(request, secret)
