"""The one door webhooks leave by: an HTTP POST over a kept-alive connection to the address destinations.py checked.

No redirect is followed, every request times out after WEBHOOK_TIMEOUT_SECONDS (10 s), and at most
RESPONSE_EXCERPT_BYTES of the answer are read (the rest is dropped with the connection), so a recipient can neither
steer us elsewhere nor make us hold its answer.
"""

import time
from collections import OrderedDict
from dataclasses import dataclass

import urllib3
from django.conf import settings

from .destinations import Destination

RESPONSE_EXCERPT_BYTES = 1024
USER_AGENT = "Fulfillmen-Privacy-Portal-Webhooks/1"
_POOLS: "OrderedDict[tuple, urllib3.HTTPConnectionPool]" = OrderedDict()
MAX_POOLS = 64


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    latency_ms: int
    error: str = ""
    excerpt: str = ""

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _pool(destination: Destination) -> urllib3.HTTPConnectionPool:
    key = (destination.scheme, destination.address, destination.port, destination.host)
    pool = _POOLS.get(key)
    if pool is not None:
        _POOLS.move_to_end(key)
        return pool
    timeout = urllib3.Timeout(total=float(getattr(settings, "WEBHOOK_TIMEOUT_SECONDS", 10)))
    common = dict(host=destination.address, port=destination.port, timeout=timeout, maxsize=4, block=False, retries=False)
    if destination.scheme == "https":
        pool = urllib3.HTTPSConnectionPool(**common, server_hostname=destination.host, assert_hostname=destination.host,
                                           cert_reqs="CERT_REQUIRED")
    else:
        pool = urllib3.HTTPConnectionPool(**common)
    _POOLS[key] = pool
    while len(_POOLS) > MAX_POOLS:
        _POOLS.popitem(last=False)[1].close()
    return pool


def _host_header(destination: Destination) -> str:
    default = 443 if destination.scheme == "https" else 80
    host = f"[{destination.host}]" if ":" in destination.host else destination.host
    return host if destination.port == default else f"{host}:{destination.port}"


def post(destination: Destination, *, body: bytes, headers: dict[str, str]) -> Outcome:
    started = time.monotonic()
    headers = {"Host": _host_header(destination), "User-Agent": USER_AGENT, "Content-Type": "application/json", **headers}
    try:
        response = _pool(destination).urlopen("POST", destination.target, body=body, headers=headers, redirect=False,
                                              retries=False, preload_content=False, assert_same_host=False)
    except urllib3.exceptions.HTTPError as exc:
        return Outcome(None, int((time.monotonic() - started) * 1000), error=_error(exc))
    try:
        excerpt = response.read(RESPONSE_EXCERPT_BYTES + 1)
        if len(excerpt) > RESPONSE_EXCERPT_BYTES:
            response.close()  # more than we read: drop the connection rather than read the rest
        else:
            response.release_conn()
    except urllib3.exceptions.HTTPError as exc:
        response.close()
        return Outcome(response.status, int((time.monotonic() - started) * 1000), error=_error(exc))
    latency = int((time.monotonic() - started) * 1000)
    # NUL cannot be stored in a PostgreSQL text column: a recipient answering one must not stop its batch's record.
    text = excerpt[:RESPONSE_EXCERPT_BYTES].decode("utf-8", "replace").replace("\x00", "\ufffd")
    error = "" if 200 <= response.status < 300 else f"HTTP {response.status}"
    return Outcome(response.status, latency, error=error, excerpt=text)


def _error(exc: Exception) -> str:
    reason = getattr(exc, "reason", None) or exc
    name = type(reason).__name__
    if isinstance(reason, (urllib3.exceptions.ReadTimeoutError, urllib3.exceptions.ConnectTimeoutError, TimeoutError)):
        return f"timed out ({name})"
    return f"{name}: {str(reason)[:300]}"
