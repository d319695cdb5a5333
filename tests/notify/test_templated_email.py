"""Notices are built from a MIME template per text: what the mail server receives is what Django would build."""

from unittest import mock

from django.core import mail
from django.core.mail import EmailMessage

from notify.mime import TemplatedEmail
from notify.transports import EmailTransport

DATE = "Wed, 25 Nov 2026 08:00:00 -0000"
TEXTS = [
    ("Notice", "Text", "a@example.com"),
    ("Fulfillmen 隐私政策：版本 2.0 生效", "我们的隐私政策将于 2026年12月1日 更改。\n\n更清楚的措辞。", "zh@例子.测试"),
    ("A subject long enough to be folded over more than one header line " * 3, ("a long line " * 120 + "\n") * 2,
     "c@example.com"),
]


def as_bytes(cls, subject, body, to, message_id):
    email = cls(subject=subject, body=body, from_email="Fulfillmen Privacy <privacy@fulfillmen.com>", to=[to],
                headers={"Message-ID": message_id})
    with mock.patch("django.core.mail.message.formatdate", return_value=DATE), \
            mock.patch("notify.mime.formatdate", return_value=DATE):
        return email.message().as_bytes()


def test_a_templated_email_is_byte_for_byte_the_message_django_builds():
    for n, (subject, body, to) in enumerate(TEXTS * 2):  # twice: the second time from the cached template
        message_id = f"<notice-{n}@fulfillmen.com>"
        assert as_bytes(TemplatedEmail, subject, body, to, message_id) == as_bytes(EmailMessage, subject, body, to, message_id)


def test_each_recipient_gets_only_their_own_address_and_message_id():
    first = as_bytes(TemplatedEmail, "Notice", "Text", "a@example.com", "<notice-1@fulfillmen.com>")
    second = as_bytes(TemplatedEmail, "Notice", "Text", "b@example.com", "<notice-2@fulfillmen.com>")
    assert b"a@example.com" not in second and b"notice-1" not in second
    assert second.count(b"To: ") == 1 and second.count(b"Message-ID: ") == 1 and first != second


def test_messages_sent_in_one_connection_each_reach_the_backend_as_real_emails(settings, mailoutbox):
    settings.DEFAULT_FROM_EMAIL = "Fulfillmen Privacy <privacy@fulfillmen.com>"
    with EmailTransport() as transport:
        for n in range(3):
            transport.send(to=f"c{n}@example.com", subject="Notice", body="Text", idempotency_key=f"notice-{n}")
    assert [m.to for m in mail.outbox] == [["c0@example.com"], ["c1@example.com"], ["c2@example.com"]]
    assert [m.message()["Message-ID"] for m in mail.outbox] == [f"<notice-{n}@fulfillmen.com>" for n in range(3)]
