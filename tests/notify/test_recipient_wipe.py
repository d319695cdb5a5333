"""The last message to a client being erased: sent to the address, after which its delivery row forgets it."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from notify.models import OutboundMessage
from notify.services import message_queue, messages_sweep
from notify.transports import EmailTransport, TransportError

pytestmark = pytest.mark.django_db
ADDRESS = "leaving@example.com"


def queue(key, **flags):
    return message_queue(channel="email", kind="test-last", to=ADDRESS, subject="Goodbye", body="Hello Leaving Person",
                         idempotency_key=key, **flags)


def test_a_last_message_is_sent_to_the_address_then_its_row_forgets_address_and_body(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = queue("k-last", wipe_recipient_after_send=True)
    assert [m.to for m in mail.outbox] == [[ADDRESS]] and mail.outbox[0].body == "Hello Leaving Person"
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.SENT
    assert (message.to, message.body, message.subject) == ("", "", "Goodbye")


def test_a_last_message_that_finally_fails_forgets_the_address_even_in_its_error(monkeypatch,
                                                                                  django_capture_on_commit_callbacks):
    def refuse(self, *, to, **kwargs):
        raise TransportError(f"recipient refused: {{'{to}': (550, b'no such user')}}", permanent=True)

    monkeypatch.setattr(EmailTransport, "send", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        message = queue("k-refused", wipe_recipient_after_send=True)
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.FAILED
    assert message.to == "" and message.body == ""
    assert ADDRESS not in message.last_error and "recipient refused: {'[erased]'" in message.last_error


def test_a_last_message_a_dead_worker_left_half_sent_forgets_the_address_when_swept():
    message = OutboundMessage.objects.create(
        channel="email", kind="test-last", to=ADDRESS, body="Hello Leaving Person", idempotency_key="k-stuck",
        wipe_recipient_after_send=True, status=OutboundMessage.Status.SENDING, attempts=1,
        sending_started_at=timezone.now() - timedelta(hours=1))
    assert messages_sweep()["stuck_failed"] == 1
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.FAILED and (message.to, message.body) == ("", "")


def test_other_messages_keep_their_recipient(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ordinary, secret = queue("k-ordinary"), queue("k-secret", wipe_body_after_send=True)
    ordinary.refresh_from_db()
    secret.refresh_from_db()
    assert (ordinary.to, ordinary.body) == (ADDRESS, "Hello Leaving Person")
    assert (secret.to, secret.body) == (ADDRESS, "")
