"""Re-compute every client's chain and compare it with the ledger, the chain heads and the current states."""

from dataclasses import dataclass, field

from . import ledger
from .models import ConsentAction, ConsentChain, ConsentEvent, ConsentState

FIELDS = ["id", "client_id", "client__public_id", "sequence", "receipt_id", "purpose_id", "purpose__code", "action",
          "channel", "policy_version__label", "occurred_at", "recorded_at", "recorded_by_id", "personal_digest",
          "previous_hash", "entry_hash", "personal__salt", "personal__ip_address", "personal__user_agent",
          "personal__reason", "personal__evidence_reference", "personal__evidence_received_on",
          "personal__evidence_sha256"]


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
    report = LedgerReport()
    heads: dict[int, tuple[int, str, str]] = {}  # client id -> (length, head hash, public id)
    last_per_pair: dict[tuple[int, int], tuple[int, bool]] = {}
    client_id, expected, previous = None, 1, ledger.GENESIS_HASH
    rows = ConsentEvent.objects.order_by("client_id", "sequence").values(*FIELDS).iterator(chunk_size=5000)
    for row in rows:
        if row["client_id"] != client_id:
            client_id, expected, previous = row["client_id"], 1, ledger.GENESIS_HASH
            report.chains += 1
        report.events += 1
        for problem in _event_problems(row, expected_sequence=expected, previous_hash=previous):
            report.problems.append(f"client {row['client__public_id']} event #{row['sequence']} (id {row['id']}): {problem}")
        expected, previous = row["sequence"] + 1, row["entry_hash"]
        heads[client_id] = (row["sequence"], row["entry_hash"], row["client__public_id"])
        last_per_pair[(client_id, row["purpose_id"])] = (row["id"], row["action"] == ConsentAction.GRANT)
    _check_heads(report, heads)
    _check_states(report, last_per_pair)
    return report


def _check_heads(report: LedgerReport, heads: dict) -> None:
    for client_id, length, head_hash in ConsentChain.objects.values_list("client_id", "length", "head_hash").iterator():
        seen = heads.pop(client_id, None)
        if seen is None and length:
            report.problems.append(f"client id {client_id}: chain head says {length} events, the ledger has none")
        elif seen and (seen[0], seen[1]) != (length, head_hash):
            report.problems.append(f"client {seen[2]}: chain head (length {length}) does not match the last event (#{seen[0]})")
    for length, _hash, public_id in heads.values():
        report.problems.append(f"client {public_id}: {length} events but no chain head")


def _check_states(report: LedgerReport, last_per_pair: dict) -> None:
    states = ConsentState.objects.values_list("client_id", "purpose_id", "granted", "last_event_id", "client__public_id")
    for client_id, purpose_id, granted, last_event_id, public_id in states.iterator():
        expected = last_per_pair.pop((client_id, purpose_id), None)
        if expected != (last_event_id, granted):
            report.problems.append(f"client {public_id}: current state of purpose {purpose_id} is not the last event's outcome")
    for (client_id, purpose_id), _ in last_per_pair.items():
        report.problems.append(f"client id {client_id}: events for purpose {purpose_id} but no current state")
