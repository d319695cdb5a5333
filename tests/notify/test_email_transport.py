"""The email transport against a small local SMTP server that answers the way real ones do."""

import socketserver
import threading

import pytest

from notify.models import OutboundMessage
from notify.services import message_deliver, message_queue
from notify.transports import EmailTransport, TransportError

pytestmark = pytest.mark.django_db


class _SMTPHandler(socketserver.StreamRequestHandler):
    def reply(self, line):
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self):
        mode = self.server.mode
        self.server.sessions += 1
        if mode == "busy":
            self.reply("421 4.3.2 Service not available, try later")
            return
        self.reply("220 fake ESMTP")
        in_data = False
        for raw in self.rfile:
            line = raw.decode().rstrip("\r\n")
            if in_data:
                if line == ".":
                    in_data = False
                    self.server.received += 1
                    self.reply("250 2.0.0 queued")
                continue
            verb = line.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 fake")
            elif verb == "MAIL":
                self.reply("250 2.1.0 ok")
            elif verb == "RCPT":
                self.reply("550 5.1.1 no such mailbox" if self.server.mode == "reject" else "250 2.1.5 ok")
            elif verb == "DATA":
                in_data = True
                self.reply("354 go ahead")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")


@pytest.fixture
def smtp_server(settings):
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    server.mode, server.received, server.sessions = "accept", 0, 0
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.server_address[1]
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    yield server
    server.shutdown()
    server.server_close()


def test_an_accepted_email_reaches_the_server(smtp_server):
    EmailTransport().send(to="someone@example.com", subject="Hi", body="Body")
    assert smtp_server.received == 1


def test_a_refused_recipient_is_a_permanent_failure(smtp_server):
    smtp_server.mode = "reject"
    with pytest.raises(TransportError) as error:
        EmailTransport().send(to="nobody@example.com", subject="Hi", body="Body")
    assert error.value.permanent and "refused" in str(error.value)


def test_a_busy_server_is_a_temporary_failure(smtp_server):
    smtp_server.mode = "busy"
    with pytest.raises(TransportError) as error:
        EmailTransport().send(to="someone@example.com", subject="Hi", body="Body")
    assert not error.value.permanent


def test_an_unreachable_server_is_a_temporary_failure(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    with pytest.raises(TransportError) as error:
        EmailTransport().send(to="someone@example.com", subject="Hi", body="Body")
    assert not error.value.permanent


def test_a_permanent_failure_is_recorded_with_the_reason_and_not_retried(smtp_server):
    smtp_server.mode = "reject"
    message = message_queue(channel="email", kind="test", to="nobody@example.com", body="x", idempotency_key="perm")
    assert message_deliver(message_id=message.pk) == OutboundMessage.Status.FAILED
    message.refresh_from_db()
    assert message.status == OutboundMessage.Status.FAILED and "refused" in message.last_error
    assert message_deliver(message_id=message.pk) == OutboundMessage.Status.FAILED  # nothing happens again
    assert message.attempts == 1


def test_a_temporary_failure_puts_the_message_back_in_the_queue(smtp_server):
    smtp_server.mode = "busy"
    message = message_queue(channel="email", kind="test", to="someone@example.com", body="x", idempotency_key="temp")
    assert message_deliver(message_id=message.pk) == OutboundMessage.Status.QUEUED
    smtp_server.mode = "accept"
    assert message_deliver(message_id=message.pk) == OutboundMessage.Status.SENT
    message.refresh_from_db()
    assert message.attempts == 2 and smtp_server.received == 1


def test_a_chunk_of_emails_goes_through_one_smtp_session_and_a_refusal_does_not_stop_the_others(smtp_server):
    with EmailTransport() as transport:
        transport.send(to="a@example.com", subject="Hi", body="Body")
        smtp_server.mode = "reject"
        with pytest.raises(TransportError) as error:
            transport.send(to="nobody@example.com", subject="Hi", body="Body")
        assert error.value.permanent
        smtp_server.mode = "accept"
        transport.send(to="b@example.com", subject="Hi", body="Body")
    assert smtp_server.received == 2 and smtp_server.sessions == 1


def test_after_a_temporary_failure_in_a_session_the_next_email_opens_a_new_one(smtp_server):
    smtp_server.mode = "busy"
    with EmailTransport() as transport:
        with pytest.raises(TransportError) as error:
            transport.send(to="a@example.com", subject="Hi", body="Body")
        assert not error.value.permanent
        smtp_server.mode = "accept"
        transport.send(to="a@example.com", subject="Hi", body="Body")
    assert smtp_server.received == 1 and smtp_server.sessions == 2
