"""How ledger entries are hashed. Changing anything here breaks every existing chain: add a new version instead.

entry_hash = SHA-256 over a canonical JSON document of the event's content, the salted digest of its personal
values and the previous entry's hash for the same client. The personal values themselves are not hashed
directly, so erasing them (and the salt) later leaves every entry_hash checkable.
"""

import hashlib
import json
import secrets
from datetime import date, datetime, timezone

HASH_VERSION = 1
GENESIS_HASH = "0" * 64


def _iso(value: datetime | date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat(timespec="microseconds")
    return value.isoformat()


def _sha256(document) -> str:
    return hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def salted_digest(*, salt: str, field: str, value) -> str:
    """A personal value as a salted SHA-256 (the ledger's way; other apps use it for values they must not keep)."""
    return _sha256([salt, field, value])


def new_salt() -> str:
    return secrets.token_hex(16)


def personal_digest(*, salt: str, ip_address: str | None, user_agent: str, reason: str, evidence_reference: str,
                    evidence_received_on: date | None, evidence_sha256: str) -> str:
    return _sha256([salt, ip_address or "", user_agent, reason, evidence_reference, _iso(evidence_received_on), evidence_sha256])


def entry_hash(**content) -> str:
    """SHA-256 (hex) of the event's canonical document (keyword arguments: those of `entry_document`)."""
    return _sha256(entry_document(**content))


def entry_document(*, client_public_id, sequence: int, receipt_id, purpose_code: str, action: str, channel: str,
                   policy_label: str, occurred_at: datetime, recorded_at: datetime, recorded_by_id: int | None,
                   personal_digest: str, previous_hash: str) -> dict:
    """What the entry hash covers, as JSON values: the receipt carries it (`ledgerEntry`), so that anyone can
    recompute the hash — SHA-256 of its JSON with sorted keys and no spaces — from what the receipt says."""
    return {
        "v": HASH_VERSION,
        "client": str(client_public_id),
        "seq": sequence,
        "receipt": str(receipt_id),
        "purpose": purpose_code,
        "action": action,
        "channel": channel,
        "policy": policy_label,
        "occurred_at": _iso(occurred_at),
        "recorded_at": _iso(recorded_at),
        "recorded_by": recorded_by_id,
        "personal": personal_digest,
        "prev": previous_hash,
    }


def file_sha256(file) -> str:
    if not file:
        return ""
    digest = hashlib.sha256()
    for chunk in file.chunks():
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest()
