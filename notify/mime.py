"""An EmailMessage whose MIME form is built once per text, not once per recipient.

A notice goes to 100,000 clients with the same subject and body; Django's `EmailMessage.message()` encodes the
body (charset, transfer encoding) and folds the subject header again for every one of them. `TemplatedEmail` is a
real EmailMessage that any backend sends as usual: its `message()` copies a MIME message built once for this
subject, body and sender by Django's own `message()`, and adds what differs per recipient (To, Date, Message-ID)
exactly as Django does, in the same order. The result is byte for byte what `EmailMessage.message()` gives
(tests/notify/test_email_transport.py compares them). Anything unusual (attachments, Cc, Reply-To, other extra
headers) takes Django's path unchanged.
"""

import copy
from email.utils import formatdate, make_msgid
from functools import lru_cache

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.message import DNS_NAME

_PER_RECIPIENT = ("Date", "Message-ID")


@lru_cache(maxsize=128)
def _template(subject: str, body: str, from_email: str, encoding: str | None, subtype: str):
    """Django's MIME message for this text without a recipient, a date or a Message-ID. Never changed once made."""
    stock = EmailMessage(subject=subject, body=body, from_email=from_email)
    stock.encoding, stock.content_subtype = encoding, subtype
    message = stock.message()
    for name in _PER_RECIPIENT:
        del message[name]
    return message


class TemplatedEmail(EmailMessage):
    def _plain(self) -> bool:
        return (not self.attachments and not self.cc and not self.reply_to
                and all(name.lower() == "message-id" for name in self.extra_headers))

    def message(self):
        if not self._plain():
            return super().message()
        encoding = self.encoding or settings.DEFAULT_CHARSET
        template = _template(self.subject, self.body, self.from_email, encoding, self.content_subtype)
        message = copy.copy(template)
        message._headers = list(template._headers)  # the only mutable part we change; the payload is a str
        if self.to:
            message["To"] = ", ".join(str(v) for v in self.to)
        message["Date"] = formatdate(localtime=settings.EMAIL_USE_LOCALTIME)
        message_id = next(iter(self.extra_headers.values()), None)
        message["Message-ID"] = message_id if message_id is not None else make_msgid(domain=DNS_NAME)
        return message
