"""SMS through one small interface, chosen by SMS_URL:

- `console:`                       print each message (development)
- `file:///path/to/dir`            one JSON file per message: to, body, time
- `memory:`                        kept in `notify.sms.outbox` (tests)
- `twilio://SID:TOKEN@api.twilio.com?from=+E164`   the Twilio Messages API (`&scheme=http` only for a local fake)

`send()` raises TransportError(permanent=...) so callers know whether a retry can help.
"""

import base64
import json
import os
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from django.conf import settings

from .transports import TransportError

outbox: list[dict] = []
_outbox_lock = threading.Lock()

# Twilio error codes that no retry can fix: bad or unreachable number, opted out, not SMS-capable, bad sender.
TWILIO_PERMANENT = {21211, 21214, 21217, 21219, 21401, 21407, 21408, 21421, 21601, 21602, 21604, 21606, 21608,
                    21610, 21612, 21614, 21659, 30003, 30004, 30005, 30006, 30007}


@dataclass
class SentSms:
    to: str
    body: str
    provider_id: str = ""


class ConsoleSms:
    def send(self, *, to: str, body: str, idempotency_key: str = "") -> SentSms:
        sys.stdout.write(f"SMS to {to}: {body}\n")
        sys.stdout.flush()
        return SentSms(to, body)


class MemorySms:
    """Keeps every message sent in a list (tests), with its idempotency key."""

    def send(self, *, to: str, body: str, idempotency_key: str = "") -> SentSms:
        with _outbox_lock:
            outbox.append({"to": to, "body": body, "at": datetime.now(timezone.utc).isoformat(), "key": idempotency_key})
        return SentSms(to, body, idempotency_key)


class FileSms:
    def __init__(self, directory: str):
        self.directory = Path(directory)

    def send(self, *, to: str, body: str, idempotency_key: str = "") -> SentSms:
        """One file per message, named by the idempotency key when there is one: sending the same delivery again
        replaces the file (written aside, then renamed), as a provider with idempotency keys keeps one message."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            message_id = idempotency_key.replace("/", "_").replace(":", "-") or uuid.uuid4().hex
            draft = self.directory / f".{message_id}.{uuid.uuid4().hex}.tmp"
            draft.write_text(
                json.dumps({"to": to, "body": body, "at": datetime.now(timezone.utc).isoformat()}, ensure_ascii=False))
            os.replace(draft, self.directory / f"{message_id}.json")
        except OSError as exc:
            raise TransportError(f"cannot write the SMS file: {exc}", permanent=False) from exc
        return SentSms(to, body, message_id)


class TwilioSms:
    def __init__(self, *, account_sid: str, auth_token: str, sender: str, host: str, scheme: str = "https", timeout: float = 10):
        if scheme not in ("https", "http"):  # http only for a local test double; never file: or a custom scheme
            raise ValueError(f"SMS_URL twilio://: scheme must be https or http, not {scheme!r}")
        self.url = f"{scheme}://{host}/2010-04-01/Accounts/{urllib.parse.quote(account_sid)}/Messages.json"
        self.auth = "Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self.sender, self.timeout = sender, timeout

    def send(self, *, to: str, body: str, idempotency_key: str = "") -> SentSms:
        # Twilio's Messages API takes no idempotency key: a message re-sent after a crash can arrive twice.
        data = urllib.parse.urlencode({"To": to, "From": self.sender, "Body": body}).encode()
        request = urllib.request.Request(self.url, data=data, method="POST",
                                         headers={"Authorization": self.auth, "Accept": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # nosec B310  # http(s), see __init__
                payload = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raise self._error(exc) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise TransportError(f"Twilio unreachable: {exc}", permanent=False) from exc
        return SentSms(to, body, payload.get("sid", ""))

    @staticmethod
    def _error(exc: urllib.error.HTTPError) -> TransportError:
        try:
            payload = json.loads(exc.read() or b"{}")
        except ValueError:
            payload = {}
        code, message = payload.get("code"), payload.get("message", exc.reason)
        if exc.code == 429 or exc.code >= 500:
            return TransportError(f"Twilio {exc.code}: {message}", permanent=False)
        if exc.code in (401, 403):
            return TransportError(f"Twilio refused our credentials ({exc.code}): {message}", permanent=True)
        return TransportError(f"Twilio error {code}: {message}", permanent=code in TWILIO_PERMANENT or exc.code == 400)


def sms_backend_from_url(url: str):
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "console":
        return ConsoleSms()
    if parsed.scheme == "memory":
        return MemorySms()
    if parsed.scheme == "file":
        return FileSms(urllib.parse.unquote(parsed.path) or "var/sms")
    if parsed.scheme == "twilio":
        query = urllib.parse.parse_qs(parsed.query)
        sender = query.get("from", [""])[0]
        if not (parsed.username and parsed.password and sender):
            raise ValueError("SMS_URL twilio:// needs ACCOUNT_SID:AUTH_TOKEN@host and ?from=+E164")
        host = parsed.hostname + (f":{parsed.port}" if parsed.port else "")
        return TwilioSms(account_sid=urllib.parse.unquote(parsed.username), auth_token=urllib.parse.unquote(parsed.password),
                         sender=sender, host=host, scheme=query.get("scheme", ["https"])[0])
    raise ValueError(f"SMS_URL {url!r}: use console:, memory:, file:///dir or twilio://SID:TOKEN@api.twilio.com?from=+E164")


def sms_backend():
    return sms_backend_from_url(settings.SMS_URL)
