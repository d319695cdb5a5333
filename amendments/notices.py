"""Notices of a policy change, by email and SMS, to every client: created in bulk, sent in chunks, at most once.

How "at most once, never lost" holds when a worker dies:
1. Publishing inserts one NoticeDelivery per client and channel (set-based; the unique constraint makes it
   idempotent). A client without a phone gets a `skipped` SMS row with the reason.
2. A worker claims a chunk (queued → claimed, one UPDATE with SKIP LOCKED, so workers never share rows).
3. After each message the transport accepted, and before the next hand-over, the worker adds the row's id to a
   Redis set of sent ids — no database round trip per message, and no Redis round trip either: the SADD is
   written to the socket without waiting for an answer (MarkWriter), and the chunk's marks are confirmed at its
   end. Then the worker marks the chunk's outcomes in PostgreSQL with a few bulk UPDATEs and forgets the marks.
   Each message is built from texts made once per language, and a chunk's emails share one mail connection.
4. A chunk whose worker died stays `claimed`. The sweeper, after CLAIM_TIMEOUT, marks the ids found in the Redis
   set as sent and puts the others back in the queue. The one message a worker was killed on between the
   provider accepting it and the Redis mark is handed over again with the same idempotency key (the e-mail's
   Message-ID), so the recipient sees it once where the provider or mail system honours the key.
Without Redis (quick start, tasks in-process), each sent row is marked in the database at once instead.
"""

import logging
import uuid
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Client
from notify.hooks import messages_sent_hooked
from notify.transports import TransportError, transport_for

from .handover import deliveries_sent_hand_over
from .marks import SentMarks
from .models import NoticeDelivery, PolicyVersion
from .notice_texts import notice_message

logger = logging.getLogger(__name__)

CHUNK_SIZE = 500
CLAIM_TIMEOUT = timedelta(minutes=10)
MAX_ATTEMPTS = 5
RETRY_BASE = timedelta(seconds=30)  # then 60 s, 120 s, 240 s
Status = NoticeDelivery.Status


def notices_create(*, version: PolicyVersion, kind: str = NoticeDelivery.Kind.NOTICE, at: datetime | None = None) -> int:
    """One email and one SMS delivery per client (SMS skipped without a phone), in three set-based statements."""
    return _deliveries_insert(version=version, kind=kind, at=at or timezone.now(), client_ids=None)


def notices_create_for(*, version: PolicyVersion, kind: str, client_ids: list[int], at: datetime | None = None) -> int:
    """The same, for some clients only (e.g. reminders to those who have not answered yet)."""
    if not client_ids:
        return 0
    return _deliveries_insert(version=version, kind=kind, at=at or timezone.now(), client_ids=list(client_ids))


def _deliveries_insert(*, version, kind, at, client_ids) -> int:
    table = NoticeDelivery._meta.db_table
    only = ""
    if client_ids is not None:
        only = " AND id IN (" + ", ".join(str(int(pk)) for pk in client_ids) + ")"
    # The table is our model's and the ids are written by int(); every value goes as a parameter.
    base = (f"INSERT INTO {table} (version_id, client_id, channel, kind, status, attempts, reason, created_at) "
            f"SELECT %s, id, %s, %s, %s, 0, %s, %s FROM accounts_client WHERE erased_at IS NULL AND {{where}}{only} "
            f"ON CONFLICT (version_id, client_id, channel, kind) DO NOTHING")  # nosec B608
    made = 0
    with connection.cursor() as cursor:
        for channel, status, reason, where in [
            ("email", Status.QUEUED, "", "email <> ''"),
            ("sms", Status.QUEUED, "", "phone <> ''"),
            ("sms", Status.SKIPPED, "No mobile number on file.", "phone = ''"),
        ]:
            cursor.execute(base.format(where=where), [version.pk, channel, kind, status, reason, at])
            made += cursor.rowcount
    return made


def _claim(*, version_id: int, kind: str, token: uuid.UUID, size: int) -> list[tuple[int, str, str, str]]:
    """Take up to `size` queued rows, in one statement: (delivery id, channel, address, language) of each, the
    address being the client's email or phone as the channel needs (looked up by primary key per row)."""
    now = timezone.now()
    table, clients = NoticeDelivery._meta.db_table, Client._meta.db_table
    skip_locked = "FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    client = f"FROM {clients} c WHERE c.id = {table}.client_id"
    # Only our models' table names and a fixed clause go into the text; every value is a parameter.
    with connection.cursor() as cursor:  # one statement: atomic by itself
        cursor.execute(
            f"UPDATE {table} SET status = %s, claim_token = %s, claimed_at = %s, attempts = attempts + 1 "
            f"WHERE id IN (SELECT id FROM {table} WHERE version_id = %s AND kind = %s AND status = %s "
            f"AND (retry_at IS NULL OR retry_at <= %s) ORDER BY id LIMIT %s {skip_locked}) RETURNING id, channel, "
            f"(SELECT CASE WHEN {table}.channel = 'email' THEN c.email ELSE c.phone END {client}), "
            f"(SELECT c.preferred_language {client})",  # nosec B608
            [Status.CLAIMED, token.hex, now, version_id, kind, Status.QUEUED, now, size])
        return sorted(cursor.fetchall())


def _id_list(ids) -> str:
    """Ids for `IN (...)`, written into the statement: integers read from our own rows, so a chunk's 500 ids cost
    the driver nothing to bind (as parameters, splicing them in took longer than the statement)."""
    return ", ".join(str(int(pk)) for pk in ids)


@dataclass
class ChunkOutcome:
    sent: list[int]
    failed: dict[int, str]
    retry: dict[int, str]


def _send_chunk(version: PolicyVersion, rows, marks: SentMarks, kind: str) -> ChunkOutcome:
    """Hand each claimed message over, one at a time, and mark it sent before the next hand-over."""
    outcome = ChunkOutcome([], {}, {})
    texts = {}
    with transport_for("email") as email, transport_for("sms") as sms, marks.writer(version.pk) as sent:
        for delivery_id, channel, address, language in rows:
            message = texts.get((language, channel))
            if message is None:
                message = texts[(language, channel)] = notice_message(version=version, language=language,
                                                                      channel=channel, kind=kind)
            try:
                if channel == "email":
                    email.send(to=address, subject=message.subject, body=message.body,
                               idempotency_key=f"notice-{delivery_id}")
                else:
                    sms.send(to=address, body=message.body, idempotency_key=f"notice-{delivery_id}")
            except TransportError as exc:
                (outcome.failed if exc.permanent else outcome.retry)[delivery_id] = str(exc)[:300]
                continue
            sent.add(delivery_id)
            outcome.sent.append(delivery_id)
    return outcome


def _by_attempts(ids) -> dict[int, list[int]]:
    grouped: dict[int, list[int]] = {}
    for pk, attempts in NoticeDelivery.objects.filter(pk__in=ids).values_list("pk", "attempts"):
        grouped.setdefault(attempts, []).append(pk)
    return grouped


def _record(outcome: ChunkOutcome, *, version_id: int, marks: SentMarks, kind: str = NoticeDelivery.Kind.NOTICE) -> None:
    now = timezone.now()
    # Only sent rows and no hook (the usual chunk without sharing): one statement, atomic on its own. With failures
    # or a sent-message hook (its records must commit with the sent marks), all in one transaction.
    with transaction.atomic() if outcome.failed or outcome.retry or messages_sent_hooked() else nullcontext():
        if outcome.sent:
            with connection.cursor() as cursor:  # our table; the ids are written by int() in _id_list
                cursor.execute(f"UPDATE {NoticeDelivery._meta.db_table} SET status = %s, sent_at = %s "
                               f"WHERE status = %s AND id IN ({_id_list(outcome.sent)})"  # nosec B608
                               f" RETURNING client_id, channel",
                               [Status.SENT, now, Status.CLAIMED])
                deliveries_sent_hand_over(cursor.fetchall(), kind=kind, at=now)
        for delivery_id, reason in outcome.failed.items():
            NoticeDelivery.objects.filter(pk=delivery_id).update(status=Status.FAILED, reason=reason)
        if outcome.retry:
            give_up = list(NoticeDelivery.objects.filter(pk__in=outcome.retry, attempts__gte=MAX_ATTEMPTS)
                           .values_list("pk", flat=True))
            NoticeDelivery.objects.filter(pk__in=give_up).update(status=Status.FAILED,
                                                                 reason="Gave up after repeated temporary errors.")
            for attempts, ids in _by_attempts(set(outcome.retry) - set(give_up)).items():
                NoticeDelivery.objects.filter(pk__in=ids).update(
                    status=Status.QUEUED, claim_token=None, retry_at=now + RETRY_BASE * 2 ** (attempts - 1))
    marks.forget(version_id, outcome.sent)


def notices_send(*, version_id: int, kind: str = NoticeDelivery.Kind.NOTICE, chunk_size: int = CHUNK_SIZE,
                 max_chunks: int | None = None) -> dict:
    """Claim and send chunks until none is left (or `max_chunks`). Safe to run in several workers at once."""
    version = PolicyVersion.objects.get(pk=version_id)
    marks = SentMarks()
    totals = {"sent": 0, "failed": 0, "retry": 0}
    chunks = 0
    while max_chunks is None or chunks < max_chunks:
        rows = _claim(version_id=version_id, kind=kind, token=uuid.uuid4(), size=chunk_size)
        if not rows:
            break
        outcome = _send_chunk(version, rows, marks, kind)
        _record(outcome, version_id=version_id, marks=marks, kind=kind)
        chunks += 1
        totals["sent"] += len(outcome.sent)
        totals["failed"] += len(outcome.failed)
        totals["retry"] += len(outcome.retry)
    return totals


def notices_recover(*, older_than: timedelta = CLAIM_TIMEOUT) -> dict:
    """Rows a dead worker left claimed: sent if the Redis marks say so, otherwise back in the queue."""
    cutoff = timezone.now() - older_than
    marks = SentMarks()
    stale = NoticeDelivery.objects.filter(status=Status.CLAIMED, claimed_at__lt=cutoff)
    recovered = {"sent": 0, "requeued": 0}
    for version_id in stale.values_list("version_id", flat=True).distinct():
        sent = marks.members(version_id)
        with transaction.atomic():
            ids = list(stale.filter(version_id=version_id).select_for_update(skip_locked=True).values_list("pk", flat=True))
            confirmed = [i for i in ids if i in sent]
            now = timezone.now()
            recovered["sent"] += NoticeDelivery.objects.filter(pk__in=confirmed).update(status=Status.SENT, sent_at=now)
            rows = list(NoticeDelivery.objects.filter(pk__in=confirmed).values_list("client_id", "channel", "kind"))
            for kind in sorted({k for _c, _ch, k in rows}):
                deliveries_sent_hand_over([(c, ch) for c, ch, k in rows if k == kind], kind=kind, at=now)
            recovered["requeued"] += NoticeDelivery.objects.filter(pk__in=set(ids) - set(confirmed)).update(
                status=Status.QUEUED, claim_token=None)
        marks.forget(version_id, confirmed)
    return recovered


def notices_resend_failed(*, version: PolicyVersion) -> int:
    """Staff's resend of failed deliveries: back in the queue; still one row per client and channel."""
    return NoticeDelivery.objects.filter(version=version, status=Status.FAILED).update(
        status=Status.QUEUED, claim_token=None, attempts=0, reason="")
