"""Reads of a few portal pages from a PostgreSQL read replica; everything else on the primary (issue #20).

With `DATABASE_REPLICA_URL` set, settings add the `replica` alias, this router and `ReplicaPinMiddleware`. A read goes
to the replica only when all of these hold (docs/architecture.md, "Read replica", says why each is there):
- the page is marked `@replica_reads` (accounts/replica.py: the client's dashboard, "Your choices", its history and
  "Who received your data"), the request is a GET or HEAD of a logged-in client who is not staff, and the session is
  not pinned to the primary (a write of this client in the last DATABASE_REPLICA_PIN_SECONDS);
- nothing was written on the primary earlier in this request, and no transaction of the application is open there;
- the model is in `REPLICA_MODELS`, and every table the statement names is one of theirs (`_TableGuard`: a join or a
  subquery cannot bring in a sharing record, a disclosure or anything else under a non-disclosure requirement);
- the replica answered its health check (in recovery and at most DATABASE_REPLICA_MAX_LAG_SECONDS behind, or not a
  standby at all) within the last DATABASE_REPLICA_CHECK_SECONDS; a replica that failed it is left alone for
  DATABASE_REPLICA_RETRY_SECONDS.
A statement that fails on the replica makes the page run again on the primary: a replica that is down costs time,
never an error page. Writes always go to the primary, and migrations run there only.
"""

import logging
import re
import threading
import time
from contextvars import ContextVar
from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from accounts.replica import replica_runner_register, replica_scope_enter, replica_scope_exit

logger = logging.getLogger("fulfillmen.db_router")

REPLICA = "replica"
PIN_SESSION_KEY = "_primary_pinned_until"

# What a replica may answer, and only on the marked pages. A replica is behind by up to the allowed lag, so only data
# whose staleness a client can live with for seconds, and that no non-disclosure requirement governs, is here: the
# purpose catalogue, the client's consent states and ledger events (their own writes pin them to the primary), their
# addresses and IP observations, the policy versions, and which affiliate a per-recipient purpose is for and what it
# was told, and the business transfers announced to them (which purposes a transfer offers them; shown seconds late at
# worst, and an announcement is meant to be seen). Never sharing records (a disclosure under a gag order is one, and so
# is every count of them), disclosures, breaches, legal holds, requests, erasures, exports, sessions, users or clients.
REPLICA_MODELS = frozenset({
    "accounts.Address", "accounts.IPObservation",
    "amendments.PolicyVersion",
    "consent.Purpose", "consent.ConsentState", "consent.ConsentEvent",
    "sharing.Affiliate", "sharing.RecipientConsent", "sharing.WithdrawalNotice",
    "transfers.BusinessTransfer", "transfers.TransferSubject", "transfers.TransferObjection",
})

HEALTH_SQL = "SELECT pg_is_in_recovery(), EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())::float8"
_WRITE_HEADS = ("INSERT", "UPDATE", "DELETE", "MERGE", "COPY", "CREATE", "ALTER", "DROP", "TRUNCATE", "LOCK", "CALL", "WITH")
_LOCKING = re.compile(r"\bFOR\s+(UPDATE|SHARE|NO\s+KEY\s+UPDATE|KEY\s+SHARE)\b", re.IGNORECASE)
# The tables a statement names after FROM or JOIN, quoted (as Django writes them) or not (raw SQL); a name followed by
# "(" is a function (`EXTRACT(EPOCH FROM now() …)`, `unnest(…)`), not a table.
_TABLE = re.compile(r'\b(?:FROM|JOIN)\s+(?:"([^"]+)"|([A-Za-z_][\w.]*)\b(?!\s*\())', re.IGNORECASE)


class ReplicaRefused(DatabaseError):
    """A statement on the replica named a table outside `REPLICA_MODELS`: the page runs again on the primary."""


@dataclass
class _Writes:
    """Whether this request has written on the primary (any statement that writes or locks, raw SQL included)."""

    wrote: bool = False

    def __call__(self, execute, sql, params, many, context):
        if not self.wrote and _writes(sql):
            self.wrote = True
        return execute(sql, params, many, context)


@dataclass
class _Scope:
    """One marked page being answered with the replica allowed."""

    writes: _Writes
    used_replica: bool = False
    off: bool = False


_scope: ContextVar[_Scope | None] = ContextVar("replica_scope", default=None)


@dataclass
class _Health:
    ok: bool
    until: float


_health: _Health | None = None
_health_lock = threading.Lock()


def _writes(sql: str) -> bool:
    """A statement that writes or locks (a `WITH` may hide a write: counted as one)."""
    return sql.lstrip()[:8].upper().startswith(_WRITE_HEADS) or (" FOR " in sql.upper() and bool(_LOCKING.search(sql)))


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def replica_health_check() -> tuple[bool, str]:
    """One cheap statement on the replica: is it a standby, and how far behind the primary's last commit is it.

    `pg_last_xact_replay_timestamp()` is the commit time of the last transaction replayed: on a standby whose
    primary has committed nothing for a while it grows although nothing is missing, and the pages fall back to the
    primary until the next commit arrives (a quiet primary has time for them). A server that is not in recovery
    (a logical replica, or the tests' second database) has no replay to measure and counts as current.
    """
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(HEALTH_SQL)
            in_recovery, lag = cursor.fetchone()
    except DatabaseError as exc:
        return False, f"unreachable: {exc.__class__.__name__}"
    if not in_recovery:
        return True, "not a standby: counted as current"
    if lag is None:
        return False, "in recovery, nothing replayed yet"
    if lag > settings.DATABASE_REPLICA_MAX_LAG_SECONDS:
        return False, f"{lag:.1f} s behind (at most {settings.DATABASE_REPLICA_MAX_LAG_SECONDS:g} s allowed)"
    return True, f"{lag:.1f} s behind"


def replica_available() -> bool:
    """The replica's last health answer, asked again once it is older than DATABASE_REPLICA_CHECK_SECONDS (healthy)
    or DATABASE_REPLICA_RETRY_SECONDS (down or behind). Per process: one statement a second at most."""
    global _health
    health, now = _health, time.monotonic()
    if health is not None and now < health.until:
        return health.ok
    with _health_lock:
        health = _health
        if health is not None and now < health.until:
            return health.ok
        ok, why = replica_health_check()
        if not ok and (health is None or health.ok):
            logger.warning("Read replica not used for %g s: %s", settings.DATABASE_REPLICA_RETRY_SECONDS, why)
        wait = settings.DATABASE_REPLICA_CHECK_SECONDS if ok else settings.DATABASE_REPLICA_RETRY_SECONDS
        _health = _Health(ok, time.monotonic() + wait)
        return ok


def replica_mark_down(why: str) -> None:
    global _health
    logger.warning("Read replica not used for %g s: %s", settings.DATABASE_REPLICA_RETRY_SECONDS, why)
    _health = _Health(False, time.monotonic() + settings.DATABASE_REPLICA_RETRY_SECONDS)


def replica_health_forget() -> None:
    """The next read asks the replica again (tests, and after a configuration change)."""
    global _health
    _health = None


def _application_transaction_open() -> bool:
    """A transaction of ours on the primary: what it reads must be what it writes next. Django's test cases wrap each
    test in blocks of their own, which they mark; those do not count."""
    primary = connections[DEFAULT_DB_ALIAS]
    return primary.in_atomic_block and any(not getattr(block, "_from_testcase", False) for block in primary.atomic_blocks)


class ReplicaRouter:
    """DATABASE_ROUTERS entry: the replica for allowlisted reads inside a marked page, the primary for all else."""

    def db_for_read(self, model, **hints):
        scope = _scope.get()
        if (scope is None or scope.off or scope.writes.wrote or model._meta.label not in REPLICA_MODELS
                or _application_transaction_open() or not replica_available()):
            # Said out loud: without an answer Django would follow the hint of an instance read from the replica.
            return DEFAULT_DB_ALIAS
        scope.used_replica = True
        return REPLICA

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the same rows, wherever they were read

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db != REPLICA  # a standby replays the primary's schema


@dataclass
class _TableGuard:
    """Refuses any statement on the replica that names a table outside `REPLICA_MODELS` (joins and subqueries too)."""

    tables: frozenset = field(default_factory=lambda: replica_tables())

    def __call__(self, execute, sql, params, many, context):
        outside = {quoted or bare for quoted, bare in _TABLE.findall(sql)} - self.tables
        if outside or _writes(sql):
            raise ReplicaRefused(f"not for the replica: {', '.join(sorted(outside)) or 'a write'}")
        return execute(sql, params, many, context)


_tables: frozenset | None = None


def replica_tables() -> frozenset:
    global _tables
    if _tables is None:
        _tables = frozenset(apps.get_model(label)._meta.db_table for label in REPLICA_MODELS)
    return _tables


def _may_use_replica(request) -> bool:
    user = getattr(request, "user", None)
    if request.method not in ("GET", "HEAD") or user is None or not user.is_authenticated:
        return False
    if user.is_staff or user.is_superuser:
        return False  # staff work in the admin, on the primary; a staff look is evidence written there
    return request.session.get(PIN_SESSION_KEY, 0) <= time.time()


def run_with_replica(request, call):
    """Answer a marked page, its allowlisted reads on the replica when the request may use it."""
    writes = getattr(request, "_primary_writes", None)  # set by ReplicaPinMiddleware, installed with the replica
    if writes is None or writes.wrote or not replica_configured() or not _may_use_replica(request):
        return call()
    scope = _Scope(writes)
    token, shared = _scope.set(scope), replica_scope_enter(scope)  # shared: kept fragments ask whether it read here
    try:
        with connections[REPLICA].execute_wrapper(_TableGuard()):
            try:
                return call()
            except DatabaseError as exc:
                # Django marks the connection an error came through: only the replica's own are ours to absorb.
                from_replica = isinstance(exc, ReplicaRefused) or connections[REPLICA].errors_occurred
                if not scope.used_replica or writes.wrote or not from_replica:
                    raise
                if isinstance(exc, ReplicaRefused):
                    logger.error("A marked page asked the replica for what it may not answer (%s): answered from the "
                                 "primary", exc)
                else:
                    replica_mark_down(f"a statement failed: {exc.__class__.__name__}")
        scope.off = True
        return call()  # nothing was written before the failed read (a write turns the replica off): safe to repeat
    finally:
        replica_scope_exit(shared)
        _scope.reset(token)


class ReplicaPinMiddleware:
    """Watches the primary for writes during each request; after a client's write (any POST, PUT, PATCH or DELETE,
    or anything written on the primary), pins their session to the primary for DATABASE_REPLICA_PIN_SECONDS, so they
    always read their own writes. Inside AuthenticationMiddleware: it needs the session and the user."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        writes = request._primary_writes = _Writes()
        with connections[DEFAULT_DB_ALIAS].execute_wrapper(writes):
            response = self.get_response(request)
        user = getattr(request, "user", None)
        changed = writes.wrote or request.method not in ("GET", "HEAD", "OPTIONS", "TRACE")
        if changed and user is not None and user.is_authenticated and not user.is_staff:
            request.session[PIN_SESSION_KEY] = time.time() + settings.DATABASE_REPLICA_PIN_SECONDS
        return response


def register() -> None:
    replica_runner_register(run_with_replica)
