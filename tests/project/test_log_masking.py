"""No personal data in logs: the log lines of a whole journey hold no e-mail address, phone number or IP address."""

import io
import logging

import pytest
from django.conf import settings
from django.urls import reverse

from fulfillmen.logmasking import MaskingFormatter, mask
from tests.accounts.signup_links import sign_up_and_confirm
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

EMAIL, PHONE_E164, IP, IPV6 = "Mei.Lin+shop@Example.cn", "+8613912345678", "198.51.100.23", "2001:db8:85a3::8a2e:370:7334"


@pytest.fixture
def configured_log():
    """What the configured handlers write (our settings.LOGGING console handler), at every level, in a buffer."""
    root = logging.getLogger()
    handlers = [h for h in root.handlers if isinstance(h.formatter, MaskingFormatter)]
    assert handlers, "settings.LOGGING has no handler with the masking formatter"
    buffer, level = io.StringIO(), root.level
    streams = [h for h in handlers if isinstance(h, logging.StreamHandler)]
    # The stream is swapped by hand: setStream() would first flush the old one, which pytest may have closed already.
    previous = [h.stream for h in streams]
    for handler in streams:
        handler.stream = buffer
    root.setLevel(logging.DEBUG)
    try:
        yield buffer
    finally:
        root.setLevel(level)
        for handler, stream in zip(streams, previous, strict=True):
            handler.stream = stream


def test_a_whole_journey_leaves_no_email_phone_or_ip_address_in_the_logs(client, configured_log):
    sign_up_and_confirm(client, {"full_name": "Mei Lin", "email": EMAIL, "phone": "139 1234 5678", "country": "CN",
                                 "preferred_language": "en", "password1": PASSWORD, "password2": PASSWORD},
                        REMOTE_ADDR=IP)
    client.post(reverse("logout"))
    client.post(reverse("login"), {"username": EMAIL, "password": "not the password"}, REMOTE_ADDR=IP)  # axes logs it
    client.post(reverse("login"), {"username": EMAIL, "password": PASSWORD}, REMOTE_ADDR=IPV6)
    client.get(reverse("consent:choices"), REMOTE_ADDR=IPV6, HTTP_SEC_GPC="1")
    client.post(reverse("consent:change", args=["marketing-messages"]), {"action": "withdraw"}, REMOTE_ADDR=IP)
    client.get(f"/portal/{EMAIL}/", REMOTE_ADDR=IP)  # "Not Found: /portal/…" is logged with the path
    client.get(f"/api/v1/clients/?purpose=promotional-sharing&email={EMAIL}", HTTP_AUTHORIZATION="Bearer fpp_bad_key")
    client.post(reverse("rights:public_request_new"), {"name": "Mei Lin", "email": EMAIL, "kind": "access",
                                                         "details": f"Call me on {PHONE_E164}"}, REMOTE_ADDR=IP)
    logging.getLogger("fulfillmen").warning("Could not reach %s at %s from %s", EMAIL, PHONE_E164, IP)

    written = configured_log.getvalue()
    assert "Not Found" in written and "[email]" in written  # the journey did log, and masking did its work
    for value in (EMAIL, EMAIL.lower(), PHONE_E164, "139 1234 5678", "13912345678", IP, IPV6):
        assert value not in written, f"{value} is in the logs:\n{written}"


def test_a_traceback_that_quotes_personal_data_is_masked_too(configured_log):
    try:
        raise ValueError(f'duplicate key value violates unique constraint: Key (email)=({EMAIL})')
    except ValueError:
        logging.getLogger("fulfillmen").exception("Saving the client failed")
    written = configured_log.getvalue()
    assert "Traceback" in written and "Key (email)=([email])" in written and EMAIL not in written


@pytest.mark.parametrize("text, expected", [
    (f"to {EMAIL}, {PHONE_E164} and (415) 555-2671", "to [email], [phone] and [phone]"),
    (f"from {IP} and {IPV6}", "from [ip] and [ip]"),
    ("at 16:01:53 on 2026-11-25 after 200000 deliveries, request 3f2a9c1e", None),  # times, dates and counts stay
    ("GET /api/v1/clients/?cursor=abc&page_size=500", None),
])
def test_masking_keeps_what_is_not_personal_data_readable(text, expected):
    assert mask(text) == (text if expected is None else expected)


def test_every_configured_handler_masks():
    formatters = settings.LOGGING["formatters"]
    assert all(f.get("()") == "fulfillmen.logmasking.MaskingFormatter" for f in formatters.values())
    assert all(h.get("formatter") in formatters for h in settings.LOGGING["handlers"].values())
