"""The one door webhooks leave by: an HTTP POST over a kept-alive connection to the address destinations.py checked.

No redirect is followed, every request ends after WEBHOOK_TIMEOUT_SECONDS (10 s) as a whole — urllib3's timeouts
bound each read, so a recipient trickling a byte at a time is cut off by a watchdog that shuts the socket down at the
deadline — and at most RESPONSE_EXCERPT_BYTES of the answer are read (the rest is dropped with the connection), so a
recipient can neither steer us elsewhere nor hold a worker.
"""

import socket
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import urllib3
from django.conf import settings
from urllib3.connection import HTTPConnection, HTTPSConnection

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


class _Watchdog:
    """One daemon thread per process (started on first use, so after a fork) that shuts down the socket of a request
    still running at its deadline: the blocked read then fails, and the request is a failed attempt."""

    TICK = 0.2

    def __init__(self):
        self._armed: dict[int, list] = {}  # thread id -> [deadline, connection, fired]
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def arm(self, seconds: float) -> None:
        self._armed[threading.get_ident()] = [time.monotonic() + seconds, None, False]
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="webhook-watchdog", daemon=True)
                self._thread.start()

    def using(self, connection) -> None:
        entry = self._armed.get(threading.get_ident())
        if entry is not None:
            entry[1] = connection

    def disarm(self) -> bool:
        """Whether the deadline cut the request off."""
        entry = self._armed.pop(threading.get_ident(), None)
        return bool(entry and entry[2])

    def _run(self) -> None:
        while True:
            time.sleep(self.TICK)
            now = time.monotonic()
            for entry in list(self._armed.values()):
                sock = getattr(entry[1], "sock", None)
                if entry[0] <= now and not entry[2] and sock is not None:
                    entry[2] = True
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:  # nosec B110  # already closed: the request ends by itself
                        pass


_WATCHDOG = _Watchdog()


class _WatchedHTTPConnection(HTTPConnection):
    def request(self, *args, **kwargs):
        _WATCHDOG.using(self)
        return super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def request(self, *args, **kwargs):
        _WATCHDOG.using(self)
        return super().request(*args, **kwargs)


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
        pool.ConnectionCls = _WatchedHTTPSConnection
    else:
        pool = urllib3.HTTPConnectionPool(**common)
        pool.ConnectionCls = _WatchedHTTPConnection
    _POOLS[key] = pool
    while len(_POOLS) > MAX_POOLS:
        _POOLS.popitem(last=False)[1].close()
    return pool


def _host_header(destination: Destination) -> str:
    default = 443 if destination.scheme == "https" else 80
    host = f"[{destination.host}]" if ":" in destination.host else destination.host
    return host if destination.port == default else f"{host}:{destination.port}"


def post(destination: Destination, *, body: bytes, headers: dict[str, str]) -> Outcome:
    _WATCHDOG.arm(float(getattr(settings, "WEBHOOK_TIMEOUT_SECONDS", 10)))
    try:
        outcome = _post(destination, body=body, headers=headers)
    finally:
        cut_off = _WATCHDOG.disarm()
    if cut_off:
        return Outcome(None, outcome.latency_ms, error="timed out (the whole request took longer than "
                                                       f"{float(getattr(settings, 'WEBHOOK_TIMEOUT_SECONDS', 10)):g} s)")
    return outcome


def _post(destination: Destination, *, body: bytes, headers: dict[str, str]) -> Outcome:
    started = time.monotonic()
    headers = {"Host": _host_header(destination), "User-Agent": USER_AGENT, "Content-Type": "application/json", **headers}
    try:
        response = _pool(destination).urlopen("POST", destination.target, body=body, headers=headers, redirect=False,
                                              retries=False, preload_content=False, assert_same_host=False)
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        return Outcome(None, int((time.monotonic() - started) * 1000), error=_error(exc))
    try:
        excerpt = response.read(RESPONSE_EXCERPT_BYTES + 1)
        if len(excerpt) > RESPONSE_EXCERPT_BYTES:
            response.close()  # more than we read: drop the connection rather than read the rest
        else:
            response.release_conn()
    except (urllib3.exceptions.HTTPError, OSError) as exc:
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
