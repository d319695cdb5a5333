"""No personal data in logs: e-mail addresses, phone numbers and IP addresses are masked in every log record.

Two places, because a log line has two sources of text:
- `install()` wraps the log record factory, so a record's message (with its arguments filled in) is masked when the
  record is made — in every process (web, Celery worker, commands) and for every handler, ours or a library's;
- `MaskingFormatter` masks the finished line, which adds tracebacks (an exception's text can hold a value, e.g. a
  unique-constraint error quoting an e-mail address).
Phone numbers are found by the `phonenumbers` library (international format, and national formats of China and the
United States); IP addresses are validated with `ipaddress`, so times such as 16:01:53 stay readable.
"""

import ipaddress
import logging
import re

import phonenumbers

EMAIL = re.compile(r"[\w.!#$%'*+^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")  # no / = ? & in the local part: URLs stay readable
IP_CANDIDATE = re.compile(r"(?<![\w.:])(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7})(?![\w.:])")
PHONE_REGIONS = ("ZZ", "CN", "US")  # ZZ: numbers written with their country code (+…), as the portal stores them


def _ip(match: re.Match) -> str:
    try:
        ipaddress.ip_address(match.group(0))
    except ValueError:
        return match.group(0)
    return "[ip]"


def mask(text: str) -> str:
    """`text` with every e-mail address, phone number and IP address replaced by a placeholder."""
    if not text:
        return text
    text = EMAIL.sub("[email]", text)
    for region in PHONE_REGIONS:
        if not any(ch.isdigit() for ch in text):
            break
        found = [m for m in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID)]
        for m in reversed(found):
            text = text[:m.start] + "[phone]" + text[m.end:]
    return IP_CANDIDATE.sub(_ip, text)


class MaskingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return mask(super().format(record))


def install() -> None:
    """Mask the message of every log record made from now on in this process (idempotent)."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "masks_personal_data", False):
        return

    def masking_factory(*args, **kwargs):
        record = factory(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to logging's own error report
            return record
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return record

    masking_factory.masks_personal_data = True
    logging.setLogRecordFactory(masking_factory)
