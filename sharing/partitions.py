"""Sharing records partitioned by month (issue #20): the months ahead created before they are written, and months past
the retention period of sharing evidence dropped whole instead of deleting rows -- without losing a row that must
outlive its month.

`sharing_sharingrecord` is `PARTITION BY RANGE (shared_at)` (migration 0012), with:

- one partition per calendar month in UTC, `sharing_sharingrecord_y2026m12` for December 2026;
- `sharing_sharingrecord_kept`, from the beginning of time to the oldest month: the rows of dropped months that must
  be kept (below) -- and any record written with a date before the oldest month -- read by every selector like any
  other month, since they all read the parent;
- `sharing_sharingrecord_default`, the DEFAULT partition, so that an insert never fails for want of a month. A row
  there means the months ahead ran out (the job did not run for `SHARING_PARTITIONS_AHEAD` months): an alarm, not an
  outage. The job logs it as an error and moves the rows into their month when it creates it.

A dropped month keeps, in `kept`, the rows that must outlive it:

- a disclosure withheld under a non-disclosure requirement until a date less than the retention period ago (its
  evidence period runs from when the client can see it; while withheld, it stays invisible as before);
- every record of a client under an active legal hold (`retention_keeps_clients_register`: rights registers its
  holds, as a higher floor calls down);
- the newest record of each (recipient, purpose, client), unless a newer one exists: withdrawal notices find the
  recipients that hold a client's data from the records (`sharing.services`), so the last proof that one received
  it is kept as long as the recipient may hold it.

Each later run deletes from `kept` what is past the period and no longer needs keeping (the date passed, the hold
released, a newer record), and rebuilds once the indexes of each month closed a month ago (grown by inserts, they
shrink by about a fifth of the record's bytes).
"""

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from django.db import OperationalError, connection, transaction

logger = logging.getLogger(__name__)

PARENT = "sharing_sharingrecord"
KEPT = f"{PARENT}_kept"
DEFAULT = f"{PARENT}_default"
MIN_RETENTION_MONTHS = 36  # PIPL Art. 56: at least 3 years (rights/retention/rules.py, `sharing_evidence`)
ALARM_MONTHS_AHEAD = 2
MAX_MONTHS_AHEAD = 24  # each is a table created under a lock on the parent
_MONTH = re.compile(rf"^{PARENT}_y(\d{{4}})m(\d{{2}})$")

# Whether a record `r` must outlive its month: %(kept_after)s a date, %(held)s the clients under a legal hold. A
# recipient's newest record of each set of fields stays: correction notices (services.rectified_notices_create) tell
# a recipient of every field it ever received, from the union of its records' fields.
_KEEP = """(coalesce(r.withheld_until > %(kept_after)s, false) OR r.client_id = ANY(%(held)s::bigint[])
    OR (r.affiliate_id IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM sharing_sharingrecord n WHERE n.affiliate_id = r.affiliate_id AND n.purpose_id = r.purpose_id
        AND n.client_id = r.client_id AND n.fields = r.fields AND (n.shared_at, n.id) > (r.shared_at, r.id))))"""

_kept_clients: list[Callable[[], Iterable[int]]] = []


def retention_keeps_clients_register(source: Callable[[], Iterable[int]]) -> None:
    """For an app above sharing (rights' legal holds), from AppConfig.ready(): the clients whose records a dropped
    month must keep."""
    _kept_clients.append(source)


def month_first(day: date) -> date:
    return date(day.year, day.month, 1)


def month_add(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_table(first: date) -> str:
    return f"{PARENT}_y{first.year:04d}m{first.month:02d}"


def _moment(first: date) -> datetime:
    return datetime(first.year, first.month, 1, tzinfo=UTC)


def months_partitioned(cursor) -> list[date]:
    """The months that have a partition, oldest first."""
    cursor.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                   "WHERE i.inhparent = %s::regclass", [PARENT])
    found = (_MONTH.match(name) for (name,) in cursor.fetchall())
    return sorted(date(int(m[1]), int(m[2]), 1) for m in found if m)


def default_rows(cursor) -> int:
    cursor.execute(f"SELECT count(*) FROM {DEFAULT}")  # nosec B608  # a constant table name
    return cursor.fetchone()[0]


def month_create(cursor, first: date) -> None:
    """The partition of one month; rows the DEFAULT partition holds for it are moved into it (PostgreSQL refuses a
    new partition while the default holds rows of its range)."""
    start, end, table = _moment(first), _moment(month_add(first, 1)), month_table(first)
    cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {DEFAULT} WHERE shared_at >= %s AND shared_at < %s)",  # nosec B608
                   [start, end])
    stray = cursor.fetchone()[0]
    if stray:
        cursor.execute(f"ALTER TABLE {PARENT} DETACH PARTITION {DEFAULT}")
    cursor.execute(f"CREATE TABLE {table} PARTITION OF {PARENT} FOR VALUES FROM (%s) TO (%s)", [start, end])
    if stray:
        # Straight into the partition: these rows' references were checked when they were written.
        cursor.execute(f"WITH moved AS (DELETE FROM {DEFAULT} WHERE shared_at >= %s AND shared_at < %s RETURNING *) "  # nosec B608
                       f"INSERT INTO {table} SELECT * FROM moved", [start, end])
        cursor.execute(f"ALTER TABLE {PARENT} ATTACH PARTITION {DEFAULT} DEFAULT")


def months_ensure(cursor, *, first: date, last: date) -> list[date]:
    """A partition for every month from `first` to `last` (inclusive) that has none; returns those created."""
    existing, created = set(months_partitioned(cursor)), []
    month = month_first(first)
    while month <= last:
        if month not in existing:
            month_create(cursor, month)
            created.append(month)
        month = month_add(month, 1)
    return created


def months_back_ensure(cursor, *, first: date) -> list[date]:
    """For loading records older than the oldest month (an import of history, the benchmark): `kept` lowered to
    start at `first`'s month -- refused while it holds a row -- and the months from there created."""
    with transaction.atomic():  # the lock, the check and the swap of `kept` stand or fall together
        first, oldest = month_first(first), months_partitioned(cursor)[0]
        if first >= oldest:
            return []
        cursor.execute(f"LOCK TABLE {PARENT} IN ACCESS EXCLUSIVE MODE")  # no month dropped into `kept` meanwhile
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {KEPT})")  # nosec B608  # a constant table name
        if cursor.fetchone()[0]:
            raise ValueError(f"{KEPT} holds records: months before {oldest:%Y-%m} cannot be partitioned.")
        cursor.execute(f"ALTER TABLE {PARENT} DETACH PARTITION {KEPT}")
        cursor.execute(f"DROP TABLE {KEPT}")
        cursor.execute(f"CREATE TABLE {KEPT} PARTITION OF {PARENT} FOR VALUES FROM (MINVALUE) TO (%s)", [_moment(first)])
        return months_ensure(cursor, first=first, last=month_add(oldest, -1))


def _default_months(cursor) -> list[date]:
    cursor.execute(f"SELECT DISTINCT date_trunc('month', shared_at AT TIME ZONE 'UTC')::date FROM {DEFAULT}")  # nosec B608
    return sorted(row[0] for row in cursor.fetchall())


# Advisory lock keys of this job's own: one run at a time, and the gate legal holds pass through.
_RUN_LOCK, _HOLDS_GATE = 0x5348_5052, 0x5348_4754


def retention_gate_shared() -> None:
    """For code that makes a client's records outlive their month (setting a legal hold), in its transaction, before
    it writes: a month being dropped reads the holds only once every such transaction under way has committed, and
    one that comes later waits for the drop to finish — so no hold is missed while it is being set."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [_HOLDS_GATE])


def lock_timeout_set(cursor, milliseconds: int) -> None:
    """For the rest of this transaction, a lock not granted within `milliseconds` fails (55P03) instead of waiting:
    while an exclusive lock waits behind a long transaction, every read of the table queues behind it."""
    cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{int(milliseconds)}ms"])


def month_kept_choose(cursor, first: date, *, kept_after: date, held: list[int]) -> int:
    """Dropping a month, first part, while every read goes on: the month's own partition locked SHARE (no row can
    be written into it or changed) and the rows that must outlive it copied into a temporary table. Returns how
    many. Call in the transaction that then calls `month_drop`."""
    table = month_table(first)
    cursor.execute(f"LOCK TABLE {table} IN SHARE MODE")
    cursor.execute(f"CREATE TEMP TABLE sharing_kept_rows ON COMMIT DROP AS SELECT * FROM {table} r "  # nosec B608
                   f"WHERE {_KEEP}", {"kept_after": kept_after, "held": held})
    return cursor.rowcount


def month_drop(cursor, first: date, *, chosen_for: list[int], held) -> tuple[int, int]:
    """Dropping a month, second part: the sharing records locked ACCESS EXCLUSIVE only for the moves (every read
    waits meanwhile); the clients put under a legal hold since the rows were chosen (`chosen_for` were then) keep
    theirs too. Returns (dropped, kept) rows."""
    cursor.execute(f"LOCK TABLE {PARENT} IN ACCESS EXCLUSIVE MODE")
    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_HOLDS_GATE])  # after the holds being set have committed
    held_now = held() if callable(held) else held  # read under the lock: a hold set while the job waited counts
    table, since = month_table(first), sorted(set(held_now) - set(chosen_for))
    if since:
        cursor.execute(f"INSERT INTO sharing_kept_rows SELECT * FROM {table} r WHERE r.client_id = ANY(%s::bigint[]) "  # nosec B608
                       "AND NOT EXISTS (SELECT 1 FROM sharing_kept_rows k WHERE k.id = r.id)", [since])
    cursor.execute("SELECT count(*) FROM sharing_kept_rows")
    kept = cursor.fetchone()[0]
    cursor.execute(f"SELECT count(*) FROM {table}")  # nosec B608  # our partition's name
    total = cursor.fetchone()[0]
    cursor.execute(f"ALTER TABLE {PARENT} DETACH PARTITION {KEPT}")
    cursor.execute(f"INSERT INTO {KEPT} SELECT * FROM sharing_kept_rows")  # nosec B608
    cursor.execute(f"ALTER TABLE {PARENT} DETACH PARTITION {table}")
    cursor.execute(f"DROP TABLE {table}")
    cursor.execute(f"ALTER TABLE {PARENT} ATTACH PARTITION {KEPT} FOR VALUES FROM (MINVALUE) TO (%s)",
                   [_moment(month_add(first, 1))])
    cursor.execute("DROP TABLE sharing_kept_rows")
    return total - kept, kept


def month_expire(cursor, first: date, *, kept_after: date, held) -> tuple[int, int]:
    """Drop one month (the oldest), keeping in `kept` the rows that must outlive it: chosen while reads go on, then
    moved under the exclusive lock. Returns (dropped, kept) rows. Call in a transaction."""
    chosen_for = held() if callable(held) else held
    month_kept_choose(cursor, first, kept_after=kept_after, held=chosen_for)
    return month_drop(cursor, first, chosen_for=chosen_for, held=held)


def _step(report: "PartitionReport", name: str, lock_timeout_ms: int, work: Callable) -> bool:
    """`work(cursor)`: one step of the job in its own transaction, its locks asked for with the timeout, one run at
    a time. A lock not granted in time (or a deadlock PostgreSQL broke), or another run at work, rolls the step back
    whole and records it in `report.busy`: the next run does it. The caller's lock timeout is as it was afterwards.
    Returns whether the step was done."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('lock_timeout'), pg_try_advisory_xact_lock(%s)", [_RUN_LOCK])
            previous, alone = cursor.fetchone()
            if not alone:
                report.busy.append(f"{name} (another run of the job is at work)")
                return False
            lock_timeout_set(cursor, lock_timeout_ms)
            work(cursor)
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [previous])
    except OperationalError as exc:
        # lock_not_available (lock_timeout passed), deadlock_detected
        if getattr(exc.__cause__, "sqlstate", None) not in ("55P03", "40P01"):
            raise
        report.busy.append(name)
        return False
    return True


def kept_prune(cursor, *, before: date, kept_after: date, held: list[int]) -> int:
    """Delete from `kept` the rows older than `before` (past the retention period) whose reason to outlive their
    month has ended. A younger row there (one written with a date before the oldest month) stays."""
    cursor.execute(f"DELETE FROM {KEPT} r WHERE r.shared_at < %(before)s AND NOT {_KEEP}",  # nosec B608
                   {"before": _moment(before), "kept_after": kept_after, "held": held})
    return cursor.rowcount


COMPACTED = "sharing: indexes rebuilt once the month was closed"


def months_compacted(cursor) -> set[date]:
    cursor.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                   "WHERE i.inhparent = %s::regclass AND obj_description(c.oid, 'pg_class') = %s", [PARENT, COMPACTED])
    found = (_MONTH.match(name) for (name,) in cursor.fetchall())
    return {date(int(m[1]), int(m[2]), 1) for m in found if m}


def month_compact(cursor, first: date, *, concurrently: bool) -> None:
    """Rebuild a closed month's indexes once (grown by inserts at random client positions, they are ~30 % larger
    than built from sorted input), and mark it so. CONCURRENTLY outside a transaction: writes never wait."""
    table = month_table(first)
    cursor.execute(f"REINDEX TABLE {'CONCURRENTLY ' if concurrently else ''}{table}")
    month_mark_compacted(cursor, first)


def month_mark_compacted(cursor, first: date) -> None:
    cursor.execute(f"COMMENT ON TABLE {month_table(first)} IS '{COMPACTED}'")


@dataclass
class PartitionReport:
    created: list[date] = field(default_factory=list)
    dropped: list[tuple[date, int, int]] = field(default_factory=list)  # (month, rows dropped, rows kept)
    compacted: list[date] = field(default_factory=list)
    pruned: int = 0
    months_ahead: int = 0
    default_rows: int = 0
    moved_from_default: int = 0
    busy: list[str] = field(default_factory=list)  # what waited longer than the lock timeout: done on a later run
    overdue: list[date] = field(default_factory=list)  # months past the retention period still there after the run

    @property
    def alarms(self) -> list[str]:
        alarms = []
        if self.default_rows:
            alarms.append(f"{self.default_rows} sharing records are in the DEFAULT partition ({DEFAULT}): no month "
                          "partition was there for them")
        if self.months_ahead < ALARM_MONTHS_AHEAD:
            alarms.append(f"only {self.months_ahead} months of sharing records are partitioned ahead")
        if self.overdue:
            alarms.append(f"{len(self.overdue)} months of sharing records past the retention period are still kept, the "
                          f"oldest {self.overdue[0]:%Y-%m}")
        return alarms


def _held_clients() -> list[int]:
    return sorted({int(client_id) for source in _kept_clients for client_id in source()})


def sharing_partitions_maintain(*, now: datetime, ahead: int, retention_months: int, drop: bool = True,
                                lock_timeout_ms: int = 5_000) -> PartitionReport:
    """Create the months from this one to `ahead` months ahead (and any a row of the DEFAULT partition needs), then,
    if `drop`, drop the months that ended `retention_months` or more ago, oldest first, one transaction each.
    Sharing evidence is kept at least 3 years (PIPL Art. 56): a shorter period is refused. A lock on the sharing
    records not granted within `lock_timeout_ms` (a long transaction holds the table) rolls that step back and
    leaves it to the next run (`report.busy`, logged), rather than make every read queue behind the waiting lock."""
    if not 1 <= ahead <= MAX_MONTHS_AHEAD:
        raise ValueError(f"Keep between 1 and {MAX_MONTHS_AHEAD} months ahead.")
    if retention_months < MIN_RETENTION_MONTHS:
        raise ValueError(f"Sharing records are kept at least {MIN_RETENTION_MONTHS} months (PIPL Art. 56).")
    report, this_month = PartitionReport(), month_first(now.astimezone(UTC).date())
    def create(cursor):
        stray, created = default_rows(cursor), []
        for month in _default_months(cursor):
            created += months_ensure(cursor, first=month, last=month)
        created += months_ensure(cursor, first=this_month, last=month_add(this_month, ahead))
        report.created, report.moved_from_default = created, stray - default_rows(cursor)

    _step(report, "creating the months ahead", lock_timeout_ms, create)
    if drop:
        cutoff = month_add(this_month, -retention_months)  # months ending on or before it are past the period
        today = now.astimezone(UTC).date()
        kept_after = date(cutoff.year, cutoff.month, min(today.day, 28))  # today, retention_months ago
        with connection.cursor() as cursor:
            expiring = [m for m in months_partitioned(cursor) if month_add(m, 1) <= cutoff]
        for month in expiring:
            def expire(cursor, month=month):
                report.dropped.append((month, *month_expire(cursor, month, kept_after=kept_after, held=_held_clients)))

            if not _step(report, f"dropping {month:%Y-%m}", lock_timeout_ms, expire):
                break  # oldest first: the next run goes on from this one

        def prune(cursor):
            cursor.execute(f"LOCK TABLE {KEPT} IN SHARE ROW EXCLUSIVE MODE")
            report.pruned = kept_prune(cursor, before=cutoff, kept_after=kept_after, held=_held_clients())

        _step(report, "pruning the kept records", lock_timeout_ms, prune)
        with connection.cursor() as cursor:
            report.overdue = [m for m in months_partitioned(cursor) if month_add(m, 1) <= cutoff]
    # A month is closed a month after it ended (a message's record can come a little late); its indexes are rebuilt once.
    with connection.cursor() as cursor:
        done = months_compacted(cursor)
        closed = [m for m in months_partitioned(cursor) if month_add(m, 2) <= this_month and m not in done]
        for month in closed:
            month_compact(cursor, month, concurrently=not connection.in_atomic_block)
            report.compacted.append(month)
    with connection.cursor() as cursor:
        report.months_ahead = sum(1 for m in months_partitioned(cursor) if m > this_month)
        report.default_rows = default_rows(cursor)
    for step in report.busy:
        logger.warning("Sharing record partitions: %s waited longer than %d ms for its lock and is left to the next run.",
                       step, lock_timeout_ms)
    for alarm in report.alarms:
        logger.error("Sharing record partitions: %s. Run `manage.py sharing_partitions`; see docs/retention.md.", alarm)
    return report
