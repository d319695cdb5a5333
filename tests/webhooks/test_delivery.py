"""Webhook delivery (issue #19): a withdrawal reaches the recipient's endpoint signed so the official library verifies
it, is retried with the same webhook-id, and a 2xx acknowledges the withdrawal notice behind it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from sharing.models import WithdrawalNotice
from webhooks.delivery import deliveries_sweep, endpoint_deliver
from webhooks.models import WebhookAttempt, WebhookDelivery

from .helpers import client_held_by, recipient_with_endpoint, verified, withdraw

pytestmark = pytest.mark.django_db


def test_a_withdrawal_reaches_the_endpoint_signed_and_acknowledges_the_notice(receiver, private_networks,
                                                                             django_capture_on_commit_callbacks):
    affiliate, endpoint, secret = recipient_with_endpoint(receiver.url)
    client = client_held_by(affiliate)
    with django_capture_on_commit_callbacks(execute=True):
        withdraw(client, affiliate)

    [request] = receiver.of_type("consent.withdrawn")
    payload = verified(request, secret)
    notice = WithdrawalNotice.objects.get(client=client, affiliate=affiliate)
    assert payload["data"] == {"notice_id": str(notice.public_id), "client_id": str(client.public_id),
                               "purpose": "promotional-sharing", "reason": "consent-withdrawn",
                               "occurred_at": payload["data"]["occurred_at"]}
    assert request.headers["webhook-id"].startswith("msg_")
    assert notice.acknowledged_at is not None
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)


def test_a_failing_receiver_gets_the_same_webhook_id_until_it_answers_2xx(receiver, private_networks,
                                                                         django_capture_on_commit_callbacks):
    affiliate, endpoint, secret = recipient_with_endpoint(receiver.url)
    client = client_held_by(affiliate)
    receiver.fail_next(3, status=503)
    with django_capture_on_commit_callbacks(execute=True):
        withdraw(client, affiliate)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.status == "pending" and delivery.attempts == 1
    assert timedelta(seconds=4) <= delivery.next_attempt_at - timezone.now() <= timedelta(seconds=6)
    for _ in (2, 3, 4):  # each retry comes due; the sweeper queues it
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        deliveries_sweep()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 4)
    ids = {r.webhook_id for r in receiver.received}
    assert len(receiver.received) == 4 and len(ids) == 1
    for request in receiver.received:
        verified(request, secret)
    assert [a.status_code for a in WebhookAttempt.objects.filter(delivery=delivery).order_by("id")] == [503, 503, 503, 200]
    assert WithdrawalNotice.objects.get(client=client).acknowledged_at is not None


def test_no_second_delivery_once_delivered(receiver, private_networks, django_capture_on_commit_callbacks):
    affiliate, endpoint, _secret = recipient_with_endpoint(receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        withdraw(client_held_by(affiliate), affiliate)
    deliveries_sweep()
    endpoint_deliver(endpoint_id=endpoint.pk)
    assert len(receiver.received) == 1
