"""A delivery sent again after a crash is the same message to the recipient: same Message-ID, one SMS file."""

from django.core import mail

from notify.sms import FileSms
from notify.transports import EmailTransport, message_id_for


def test_an_email_sent_twice_for_one_delivery_carries_the_same_message_id(settings):
    settings.DEFAULT_FROM_EMAIL = "Fulfillmen Privacy <privacy@fulfillmen.com>"
    for _ in range(2):
        EmailTransport().send(to="a@example.com", subject="Notice", body="Text", idempotency_key="notice-7")
    EmailTransport().send(to="a@example.com", subject="Notice", body="Text", idempotency_key="notice-8")
    ids = [m.extra_headers.get("Message-ID") or m.message()["Message-ID"] for m in mail.outbox]
    assert ids == ["<notice-7@fulfillmen.com>", "<notice-7@fulfillmen.com>", "<notice-8@fulfillmen.com>"]
    assert message_id_for("notice-7") == "<notice-7@fulfillmen.com>"


def test_the_file_sms_provider_keeps_one_message_per_delivery_like_a_provider_with_idempotency_keys(tmp_path):
    provider = FileSms(str(tmp_path))
    provider.send(to="+4915123456789", body="first try", idempotency_key="notice-9")
    provider.send(to="+4915123456789", body="after the crash", idempotency_key="notice-9")
    provider.send(to="+4915123456789", body="another")
    files = sorted(p.name for p in tmp_path.iterdir())
    assert len(files) == 2 and "notice-9.json" in files and not any(name.endswith(".tmp") for name in files)
