"""Delivery rows and a real Celery worker on Redis: sent once, never lost."""

import time
from datetime import timedelta
from email import message_from_string

import pytest
from django.db import transaction
from django.utils import timezone

from notify.models import OutboundMessage
from notify.services import message_queue, messages_sweep
from notify.tasks import deliver_message

from .conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def delivered_to(mail_dir, address):
    found = []
    for path in mail_dir.glob("*.log"):
        for chunk in path.read_text().split("-" * 79):
            if f"To: {address}" in chunk:
                found.append(message_from_string(chunk.strip()))
    return found


def status_of(message):
    return OutboundMessage.objects.get(pk=message.pk).status


def queue_email(to, key):
    with transaction.atomic():
        return message_queue(channel="email", kind="test-notice", to=to, subject="Hello", body="Body text", idempotency_key=key)


def test_a_queued_email_is_sent_by_the_worker_after_commit(celery_worker, mail_dir):
    message = queue_email("first@example.com", "k-first")
    assert wait_for(lambda: status_of(message) == OutboundMessage.Status.SENT)
    sent = delivered_to(mail_dir, "first@example.com")
    assert len(sent) == 1 and sent[0]["Subject"] == "Hello"
    assert OutboundMessage.objects.get(pk=message.pk).attempts == 1


def test_a_message_queued_twice_is_sent_once(celery_worker, mail_dir):
    message = queue_email("twice@example.com", "k-twice")
    again = queue_email("twice@example.com", "k-twice")
    assert again.pk == message.pk
    deliver_message.delay(message.pk)  # a duplicate task, as a broker redelivery would give
    assert wait_for(lambda: status_of(message) == OutboundMessage.Status.SENT)
    deliver_message.delay(message.pk)
    assert wait_for(lambda: OutboundMessage.objects.filter(pk=message.pk, attempts=1).exists())
    time.sleep(1.0)  # give the duplicates time to run
    assert len(delivered_to(mail_dir, "twice@example.com")) == 1


def test_a_message_the_broker_never_got_is_sent_by_the_sweeper(celery_worker, mail_dir):
    # The row exists (written in the business transaction) but no task was ever queued: the broker was down.
    message = OutboundMessage.objects.create(channel="email", kind="test-notice", to="lost@example.com", subject="Late",
                                             body="x", idempotency_key="k-lost")
    OutboundMessage.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    assert messages_sweep()["requeued"] == 1
    assert wait_for(lambda: status_of(message) == OutboundMessage.Status.SENT)
    assert len(delivered_to(mail_dir, "lost@example.com")) == 1


def test_a_message_left_half_sent_by_a_dead_worker_is_failed_with_the_reason_not_sent_again(mail_dir):
    message = OutboundMessage.objects.create(channel="email", kind="test-notice", to="halfway@example.com", body="x",
                                             idempotency_key="k-half", status=OutboundMessage.Status.SENDING,
                                             sending_started_at=timezone.now() - timedelta(hours=1), attempts=1)
    assert messages_sweep()["stuck_failed"] == 1
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.FAILED and "may already have gone out" in message.last_error
    assert delivered_to(mail_dir, "halfway@example.com") == []


def test_password_reset_email_is_a_delivery_row_whose_link_is_wiped_once_sent(client, celery_worker, mail_dir):
    from tests.conftest import make_client

    owner = make_client("reset@example.com")
    client.post("/accounts/password_reset/", {"email": "reset@example.com"})
    message = OutboundMessage.objects.get(kind="password-reset", client=owner)
    assert wait_for(lambda: status_of(message) == OutboundMessage.Status.SENT)
    assert OutboundMessage.objects.get(pk=message.pk).body == ""
    sent = delivered_to(mail_dir, "reset@example.com")
    assert len(sent) == 1 and "/accounts/reset/" in sent[0].get_payload()
