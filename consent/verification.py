"""Re-compute every client's chain and compare it with the ledger, the chain heads and the current states."""

from dataclasses import dataclass, field

from django.db import DEFAULT_DB_ALIAS, connection, transaction

from . import ledger
from .models import ConsentAction, ConsentChain, ConsentEvent, ConsentState

FIELDS = ["id", "client_id", "client__public_id", "sequence", "receipt_id", "purpose_id", "purpose__code", "action",
          "channel", "policy_version__label", "occurred_at", "recorded_at", "recorded_by_id", "personal_digest",
          "previous_hash", "entry_hash", "personal__salt", "personal__ip_address", "personal__user_agent",
          "personal__reason", "personal__evidence_reference", "personal__evidence_received_on",
          "personal__evidence_sha256"]


CHUNK = 5000  # rows each of the three cursors holds at a time


@dataclass
class LedgerReport:
    events: int = 0
    chains: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


def _event_problems(row: dict, *, expected_sequence: int, previous_hash: str) -> list[str]:
    problems = []
    if row["sequence"] != expected_sequence:
        problems.append(f"sequence {row['sequence']} where {expected_sequence} was expected (an event is missing or duplicated)")
    if row["previous_hash"] != previous_hash:
        problems.append("does not link to the previous event (an earlier event was altered, removed or inserted)")
    if row["personal__salt"] is not None:
        digest = ledger.personal_digest(
            salt=row["personal__salt"], ip_address=row["personal__ip_address"], user_agent=row["personal__user_agent"],
            reason=row["personal__reason"], evidence_reference=row["personal__evidence_reference"],
            evidence_received_on=row["personal__evidence_received_on"], evidence_sha256=row["personal__evidence_sha256"])
        if digest != row["personal_digest"]:
            problems.append("its IP, user agent, reason or evidence were altered")
    recomputed = ledger.entry_hash(
        client_public_id=row["client__public_id"], sequence=row["sequence"], receipt_id=row["receipt_id"],
        purpose_code=row["purpose__code"], action=row["action"], channel=row["channel"],
        policy_label=row["policy_version__label"] or "", occurred_at=row["occurred_at"], recorded_at=row["recorded_at"],
        recorded_by_id=row["recorded_by_id"], personal_digest=row["personal_digest"], previous_hash=row["previous_hash"])
    if recomputed != row["entry_hash"]:
        problems.append("its content no longer matches its hash (the row was altered)")
    return problems


def ledger_verify() -> LedgerReport:
    """One pass over the events in chain order, merged with the chain heads and the current states read in the same
    client order, all in one snapshot when called outside a transaction, as the commands call it (a live ledger's
    writes in between never look like tampering). Memory stays
    constant whatever the ledger's length: only the current client's chain is held (issue #20)."""
    report = LedgerReport()
    own_snapshot = connection.vendor == "postgresql" and not connection.in_atomic_block  # else the caller's transaction
    with transaction.atomic(using=DEFAULT_DB_ALIAS):
        if own_snapshot:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        heads = _Merged(ConsentChain.objects.order_by("client_id").values_list("client_id", "length", "head_hash"))
        states = _Merged(ConsentState.objects.order_by("client_id", "purpose_id").values_list(
            "client_id", "purpose_id", "granted", "last_event_id", "client__public_id"))
        rows = ConsentEvent.objects.order_by("client_id", "sequence").values(*FIELDS).iterator(chunk_size=CHUNK)
        chain = None  # the current client's: [client id, public id, last sequence, last hash, {purpose: (event, granted)}]
        client_id, expected, previous = None, 1, ledger.GENESIS_HASH
        for row in rows:
            if row["client_id"] != client_id:
                if chain:
                    _chain_end(report, chain, heads, states)
                client_id, expected, previous = row["client_id"], 1, ledger.GENESIS_HASH
                chain = [client_id, row["client__public_id"], 0, "", {}]
                report.chains += 1
            report.events += 1
            for problem in _event_problems(row, expected_sequence=expected, previous_hash=previous):
                report.problems.append(f"client {row['client__public_id']} event #{row['sequence']} (id {row['id']}): {problem}")
            expected, previous = row["sequence"] + 1, row["entry_hash"]
            chain[2], chain[3] = row["sequence"], row["entry_hash"]
            chain[4][row["purpose_id"]] = (row["id"], row["action"] == ConsentAction.GRANT)
        if chain:
            _chain_end(report, chain, heads, states)
        _heads_without_events(report, heads, until=None)
        _states_without_events(report, states, until=None)
    return report


class _Merged:
    """An ordered query read alongside the events: `peek()` the next row, `take()` it."""

    def __init__(self, queryset):
        self._rows, self._next = queryset.iterator(chunk_size=CHUNK), None
        self.take()

    def peek(self):
        return self._next

    def take(self):
        row, self._next = self._next, next(self._rows, None)
        return row


def _chain_end(report: LedgerReport, chain: list, heads: _Merged, states: _Merged) -> None:
    client_id, public_id, length, head_hash, last_per_purpose = chain
    _heads_without_events(report, heads, until=client_id)
    head = heads.peek()
    if head is None or head[0] != client_id:
        report.problems.append(f"client {public_id}: {length} events but no chain head")
    else:
        heads.take()
        if (head[1], head[2]) != (length, head_hash):
            report.problems.append(f"client {public_id}: chain head (length {head[1]}) does not match the last event (#{length})")
    _states_without_events(report, states, until=client_id)
    while states.peek() is not None and states.peek()[0] == client_id:
        _client, purpose_id, granted, last_event_id, _public = states.take()
        if last_per_purpose.pop(purpose_id, None) != (last_event_id, granted):
            report.problems.append(f"client {public_id}: current state of purpose {purpose_id} is not the last event's outcome")
    for purpose_id in last_per_purpose:
        report.problems.append(f"client id {client_id}: events for purpose {purpose_id} but no current state")


def _heads_without_events(report: LedgerReport, heads: _Merged, *, until) -> None:
    """Chain heads of clients before `until` (all when None), who have no event."""
    while heads.peek() is not None and (until is None or heads.peek()[0] < until):
        client_id, length, _hash = heads.take()
        if length:
            report.problems.append(f"client id {client_id}: chain head says {length} events, the ledger has none")


def _states_without_events(report: LedgerReport, states: _Merged, *, until) -> None:
    while states.peek() is not None and (until is None or states.peek()[0] < until):
        _client, purpose_id, _granted, _event, public_id = states.take()
        report.problems.append(f"client {public_id}: current state of purpose {purpose_id} is not the last event's outcome")
