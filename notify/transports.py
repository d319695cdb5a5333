"""One interface per outside world. Email goes through Django's email backends (EMAIL_URL), SMS through the
small backend interface of notify.sms (SMS_URL)."""

import smtplib
import socket

from django.conf import settings
from django.core.mail import get_connection

from .mime import TemplatedEmail


class TransportError(Exception):
    """A send that did not happen. `permanent` says whether trying again could help."""

    def __init__(self, message: str, *, permanent: bool):
        super().__init__(message)
        self.permanent = permanent


def message_id_for(idempotency_key: str) -> str:
    """The Message-ID of a delivery: the same on every attempt, so a message re-sent after a worker died between
    the server's acceptance and our record of it is the same message to the recipient's mail system."""
    domain = settings.DEFAULT_FROM_EMAIL.rpartition("@")[2].strip("> ") or "fulfillmen.com"
    return f"<{idempotency_key}@{domain}>"


class EmailTransport:
    """One email per `send()`. Used as a context manager (`with transport_for("email") as email:`), every send in
    the block goes through one backend connection (one SMTP session per chunk of notices), still one message per
    hand-over so that each message's outcome, and the caller's record of it, is known before the next one."""

    def __init__(self):
        self._session = False
        self._connection = None

    def __enter__(self) -> "EmailTransport":
        self._session = True
        return self

    def __exit__(self, *exc_info) -> None:
        self._session = False
        self._drop_connection()

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # nosec B110  # closing a broken SMTP session: nothing left to lose
                pass

    def send(self, *, to: str, subject: str, body: str, attachment: tuple[str, str, str] | None = None,
             idempotency_key: str = "") -> None:
        headers = {"Message-ID": message_id_for(idempotency_key)} if idempotency_key else None
        email = TemplatedEmail(subject=subject, body=body, from_email=settings.DEFAULT_FROM_EMAIL, to=[to], headers=headers)
        if attachment:
            email.attach(*attachment)
        try:
            if not self._session:
                email.send(fail_silently=False)
                return
            if self._connection is None:
                self._connection = get_connection(fail_silently=False)
                self._connection.open()
            self._connection.send_messages([email])
        except smtplib.SMTPRecipientsRefused as exc:
            raise TransportError(f"recipient refused: {exc.recipients}", permanent=True) from exc
        except smtplib.SMTPResponseException as exc:
            self._drop_connection()
            raise TransportError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", permanent=500 <= exc.smtp_code < 600) from exc
        except (smtplib.SMTPException, OSError, socket.timeout) as exc:
            self._drop_connection()
            raise TransportError(f"email server unreachable: {exc}", permanent=False) from exc


class SmsTransport:
    """SMS through the backend SMS_URL names (notify.sms). Subject and attachments do not exist in SMS."""

    def __init__(self):
        self._backend = None

    def __enter__(self) -> "SmsTransport":
        return self

    def __exit__(self, *exc_info) -> None:
        self._backend = None

    def send(self, *, to: str, subject: str = "", body: str, attachment=None, idempotency_key: str = "") -> None:
        from .sms import sms_backend

        if self._backend is None:
            self._backend = sms_backend()
        self._backend.send(to=to, body=body, idempotency_key=idempotency_key)


def transport_for(channel: str):
    if channel == "email":
        return EmailTransport()
    if channel == "sms":
        return SmsTransport()
    raise TransportError(f"no transport for channel {channel!r}", permanent=True)
