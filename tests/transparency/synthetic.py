"""Synthetic consent receipts as the portal writes them (consent/receipts.py), for the standalone verifier's tests.

One client's chain of 12 ledger entries, each hashed as the consent ledger hashes it (SHA-256 of its JSON with
sorted keys, no spaces and ASCII escapes: consent/ledger.py), in a public log signed by a test key whose name is the
log's origin. Written from the ledger's definition, not from the verifier, so that they check it; and the verifier
run as a client runs it."""

import hashlib
import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tests.transparency import reference

TOOL = Path(__file__).resolve().parents[2] / "tools" / "verify_receipt.py"
ORIGIN = "portal.example/consent-log"
SKEY, VKEY = reference.new_key(ORIGIN)
CLIENT = "3f1b6a52-6d0c-4c1e-9a57-0c2d3f4e5a6b"
PORTAL_TIME = timezone(timedelta(hours=8))  # the portal's time zone (Asia/Shanghai), in which it writes eventTime
FIRST_EVENT = datetime(2026, 12, 6, 21, 11, 59, 123456, tzinfo=timezone.utc)
GENESIS = "0" * 64
INDEX, SIZE = 5, 7  # the receipt's event (the client's 6th, a withdrawal), and the first checkpoint that covers it


def canonical_hash(entry: dict) -> bytes:
    """The consent ledger's entry hash of a ledger entry."""
    return hashlib.sha256(json.dumps(entry, sort_keys=True, separators=(",", ":")).encode("utf-8")).digest()


def leaf_hash(entry_hash: bytes) -> bytes:
    """RFC 9162 leaf hash of a log leaf, whose input is the entry hash."""
    return hashlib.sha256(b"\x00" + entry_hash).digest()


def utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def ledger_entry(seq: int, prev: str) -> dict:
    """The client's event number `seq`: a grant when odd, a withdrawal when even, some recorded by staff member 7."""
    occurred = FIRST_EVENT + timedelta(hours=seq - 1, microseconds=seq)
    return {"v": 1, "client": CLIENT, "seq": seq, "receipt": f"b1d1c1a0-0000-4000-8000-{seq:012d}",
            "purpose": "marketing-messages", "action": "grant" if seq % 2 else "withdraw", "channel": "portal",
            "policy": "2026-11", "occurred_at": utc(occurred), "recorded_at": utc(occurred + timedelta(milliseconds=3)),
            "recorded_by": 7 if seq % 3 == 0 else None, "personal": hashlib.sha256(b"personal %d" % seq).hexdigest(),
            "prev": prev}


def chain(n: int) -> list[dict]:
    entries, prev = [], GENESIS
    for seq in range(1, n + 1):
        entries.append(ledger_entry(seq, prev))
        prev = canonical_hash(entries[-1]).hex()
    return entries


LEDGER = chain(12)


def readable_fields(entry: dict) -> dict:
    """The receipt's human-readable fields, as the portal derives them from the event."""
    occurred = datetime.fromisoformat(entry["occurred_at"])
    granted = entry["action"] == "grant"
    return {"consentTimestamp": int(occurred.timestamp()), "consentReceiptID": entry["receipt"],
            "piiPrincipalId": entry["client"], "recordId": f"{entry['client']}#{entry['seq']}",
            "eventTime": occurred.astimezone(PORTAL_TIME).isoformat(),
            "eventType": "consent given" if granted else "consent withdrawn",
            "eventState": "active" if granted else "withdrawn", "policyVersion": entry["policy"],
            "collectionMethod": CHANNEL_LABELS[entry["channel"]],
            "services": [{"service": "Fulfillmen cloud warehousing and shipping", "purposes": [{
                "purposeId": entry["purpose"], "purpose": "Marketing messages",
                "consentType": "IMPLICIT" if entry["channel"] == "signup" else "EXPLICIT"}]}]}


# The receipt's collectionMethod per ledger channel, as the portal writes it (consent.models.Channel, in English).
CHANNEL_LABELS = {"portal": "Portal", "gpc": "Global Privacy Control signal", "email": "Email", "letter": "Letter",
                  "staff": "Staff", "api": "API", "import": "Import", "signup": "Sign-up"}


def leaf_hashes(ledger: list[dict] = LEDGER) -> list[bytes]:
    return [leaf_hash(canonical_hash(entry)) for entry in ledger]


def checkpoint(hashes: list[bytes], skey: str = SKEY, origin: str = ORIGIN) -> str:
    return reference.sign_note(reference.checkpoint_text(origin, hashes), skey)


def make_receipt(index: int = INDEX, size: int = SIZE, ledger: list[dict] = LEDGER, origin: str = ORIGIN) -> dict:
    """The receipt of event `index` of `ledger`, with the proof of its inclusion in the checkpoint of `size`."""
    entry, hashes = ledger[index], leaf_hashes(ledger)[:size]
    return {
        "version": "KI-CR-v1.1.0", "language": "en", **readable_fields(entry),
        "entryHash": canonical_hash(entry).hex(), "ledgerEntry": dict(entry),
        "transparencyLog": {"origin": origin, "leafIndex": index, "leafInput": canonical_hash(entry).hex(),
                            "checkpoint": checkpoint(hashes, origin=origin),
                            "inclusionProof": reference.b64(reference.inclusion_path(index, hashes))},
    }


def run(tmp_path, receipt, *args, key=VKEY):
    path = tmp_path / "receipt.json"
    path.write_text(receipt if isinstance(receipt, str) else json.dumps(receipt), encoding="utf-8")
    command = [sys.executable, str(TOOL), str(path), *(["--key", key] if key else []), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def assert_failed(result, message):
    assert (result.returncode, "Traceback" in result.stderr) == (1, False), result.stderr
    assert result.stderr.startswith("FAILED: ") and message in result.stderr, result.stderr
