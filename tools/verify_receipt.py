#!/usr/bin/env python3
"""Check a Fulfillmen consent receipt against the public consent log, without trusting Fulfillmen.

Every consent event is a leaf of one append-only Merkle tree (RFC 6962 / RFC 9162 section 2.1). The log signs
checkpoints (C2SP tlog-checkpoint in a C2SP signed note, Ed25519). A receipt carries the event's leaf input, the
first signed checkpoint that covers it and an inclusion proof. This script checks, with nothing but the log's
public key:

  1. the receipt's content is what the ledger hashed: its ledgerEntry (version 1) hashes to its entryHash, and
     its receipt ID, client, record ID, event type and state, policy version, event time and consent timestamp
     say what that ledger entry says;
  2. the receipt's leafInput is its entryHash;
  3. the receipt and its checkpoint name the expected log (--origin; by default the key's name), and the
     checkpoint is signed by that key;
  4. the inclusion proof leads from the event's leaf hash to the checkpoint's root hash;
  5. with --log URL: today's checkpoint is signed too and names the expected log, the log only grew since the
     receipt's checkpoint (consistency proof) and the event is still in today's tree (inclusion proof at today's size).

Usage:  python verify_receipt.py RECEIPT.json --key 'NAME+HASH+BASE64' [--origin ORIGIN]
                                 [--log https://portal.example/transparency/log/]
Exit status: 0 verified, 1 a check failed ("FAILED: <reason>" on stderr), 2 bad command line.
Requires Python >= 3.11 and the `cryptography` package; nothing else.
"""

import argparse
import base64
import binascii
import hashlib
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

HASH_SIZE = 32  # SHA-256
MAX_ANSWER_BYTES = 1 << 20  # no answer of the log is anywhere near 1 MiB
MAX_SIGNATURES = 100  # as golang.org/x/mod/sumdb/note


class VerificationError(Exception):
    """A receipt, proof, signature or answer of the log that does not check out; the message says which."""


# --- RFC 9162 section 2.1: Merkle tree hashes and proofs ------------------------------------------------------

def leaf_hash(data: bytes) -> bytes:
    """The hash of a leaf: SHA-256(0x00 || leaf input)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _check_hash(value, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise VerificationError(f"{what} is not a {HASH_SIZE}-byte hash")


def _check_hashes(hashes, what: str) -> None:
    if not isinstance(hashes, (list, tuple)):
        raise VerificationError(f"{what} is not a list of hashes")
    for i, value in enumerate(hashes):
        _check_hash(value, f"{what}[{i}]")


def _check_size(value, what: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise VerificationError(f"{what} is not a non-negative integer")


def root_from_inclusion_proof(index: int, size: int, leaf_hash: bytes, proof: list[bytes]) -> bytes:
    """The root hash that `proof` implies for leaf `index` of a tree of `size` leaves (RFC 9162 2.1.3.2)."""
    _check_size(index, "the leaf index")
    _check_size(size, "the tree size")
    if index >= size:
        raise VerificationError(f"leaf index {index} is not in a tree of size {size}")
    _check_hash(leaf_hash, "the leaf hash")
    _check_hashes(proof, "the inclusion proof")
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            raise VerificationError(f"the inclusion proof is too long for leaf {index} of a tree of size {size}")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise VerificationError(f"the inclusion proof is too short for leaf {index} of a tree of size {size}")
    return r


def verify_inclusion(index: int, size: int, leaf_hash: bytes, proof: list[bytes], root: bytes) -> None:
    """Raise VerificationError unless `proof` shows leaf `index` with `leaf_hash` in the tree of `size` and `root`."""
    _check_hash(root, "the root hash")
    if root_from_inclusion_proof(index, size, leaf_hash, proof) != root:
        raise VerificationError(f"the inclusion proof of leaf {index} does not lead to the root hash of tree size {size}")


def verify_consistency(size1: int, size2: int, proof: list[bytes], root1: bytes, root2: bytes) -> None:
    """Raise VerificationError unless `proof` shows the tree (size1, root1) is a prefix of (size2, root2)
    (RFC 9162 2.1.4.2): the log only appended leaves between the two checkpoints."""
    _check_size(size1, "the older tree size")
    _check_size(size2, "the newer tree size")
    _check_hashes(proof, "the consistency proof")
    if size1 > size2:
        raise VerificationError(f"the log shrank from size {size1} to {size2}")
    if size1 == 0:
        raise VerificationError("a consistency proof from the empty tree proves nothing")
    if size1 == size2:
        if proof:
            raise VerificationError("the consistency proof between trees of the same size must be empty")
        if root1 != root2:
            raise VerificationError(f"two different root hashes for tree size {size1}: the log was rewritten")
        return
    if not proof:
        raise VerificationError("the consistency proof is empty")
    _check_hash(root1, "the older root hash")
    _check_hash(root2, "the newer root hash")
    path = [root1, *proof] if size1 & (size1 - 1) == 0 else list(proof)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise VerificationError(f"the consistency proof from size {size1} to {size2} is too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise VerificationError(f"the consistency proof from size {size1} to {size2} is too short")
    if fr != root1 or sr != root2:
        raise VerificationError(f"the consistency proof from size {size1} to {size2} does not match the root hashes: "
                                "the log was rewritten")


# --- C2SP signed note (golang.org/x/mod/sumdb/note) and tlog-checkpoint ---------------------------------------

def _b64decode(text, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError, TypeError):
        raise VerificationError(f"{what} is not valid base64") from None


def _valid_key_name(name: str) -> bool:
    return bool(name) and "+" not in name and not any(c.isspace() for c in name)


def _key_id(name: str, key: bytes) -> int:
    """The 4-byte key hash of a note key: SHA-256(name || "\\n" || algorithm byte || public key), big-endian."""
    return int.from_bytes(hashlib.sha256(name.encode() + b"\n" + key).digest()[:4], "big")


@dataclass(frozen=True)
class NoteVerifier:
    """The log's public key: the only thing a client must get from somewhere other than the receipt."""

    name: str
    key_id: int
    public_key: Ed25519PublicKey

    @classmethod
    def from_vkey(cls, vkey: str) -> "NoteVerifier":
        """Parse a verifier key "<name>+<8 hex key hash>+<base64(0x01 || 32-byte Ed25519 public key)>"."""
        if not isinstance(vkey, str):
            raise VerificationError("the verifier key is not text")
        name, _, rest = vkey.strip().partition("+")
        key_hash, _, encoded = rest.partition("+")
        key = _b64decode(encoded, "the verifier key's public key")
        if not _valid_key_name(name) or not re.fullmatch(r"[0-9a-fA-F]{8}", key_hash) or not key:
            raise VerificationError("the verifier key is malformed: expected <name>+<8 hex digits>+<base64 key>")
        if int(key_hash, 16) != _key_id(name, key):
            raise VerificationError("the verifier key's hash does not match its name and public key")
        if key[0] != 1 or len(key) != 33:
            raise VerificationError("the verifier key is not an Ed25519 key (algorithm 1, 32 bytes)")
        try:
            return cls(name, int(key_hash, 16), Ed25519PublicKey.from_public_bytes(key[1:]))
        except ValueError:
            raise VerificationError("the verifier key's public key is not an Ed25519 key") from None

    def __str__(self) -> str:
        return f"{self.name}+{self.key_id:08x}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            self.public_key.verify(signature, message)
        except InvalidSignature:
            return False
        return True


def open_note(text: str, verifier: NoteVerifier) -> str:
    """The text (body) of signed note `text` once a signature by `verifier`'s key verifies. Signatures by other
    keys (witness cosignatures, rotated keys) are ignored, as the signed-note format requires."""
    if not isinstance(text, str) or re.search(r"[\x00-\x09\x0b-\x1f\ud800-\udfff]", text):
        raise VerificationError("the signed note is malformed: not text, or it holds control characters")
    split = text.rfind("\n\n")
    signatures = text[split + 2:]
    if split < 0 or not signatures.endswith("\n"):
        raise VerificationError("the signed note is malformed: no signature lines after a blank line")
    body, lines, verified = text[:split + 1], signatures[:-1].split("\n"), False
    if len(lines) > MAX_SIGNATURES:
        raise VerificationError("the signed note is malformed: too many signatures")
    for line in lines:
        name, _, encoded = line.removeprefix("\u2014 ").partition(" ")
        if not line.startswith("\u2014 ") or not _valid_key_name(name) or not encoded:
            raise VerificationError(f"the signed note is malformed: bad signature line {line[:60]!r}")
        signature = _b64decode(encoded, f"the signature of {name}")
        if len(signature) < 5:
            raise VerificationError(f"the signed note is malformed: signature of {name} is too short")
        if verified or name != verifier.name or int.from_bytes(signature[:4], "big") != verifier.key_id:
            continue  # a key we were not asked to trust, or a repeat of ours
        if not verifier.verify(body.encode(), signature[4:]):
            raise VerificationError(f"invalid signature by key {verifier}: the signed text was altered")
        verified = True
    if not verified:
        raise VerificationError(f"the note carries no signature by key {verifier}")
    return body


@dataclass(frozen=True)
class Checkpoint:
    """A signed tree head: the log `origin` had `size` leaves with root hash `root_hash`."""

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()


def parse_checkpoint(body: str) -> Checkpoint:
    """Parse a C2SP tlog-checkpoint note body: origin, decimal tree size, base64 root hash, extension lines."""
    lines = body[:-1].split("\n") if isinstance(body, str) and body.endswith("\n") else []
    if len(lines) < 3 or not all(lines):
        raise VerificationError("the checkpoint is malformed: expected origin, size and root hash lines")
    origin, size, root = lines[:3]
    if not re.fullmatch(r"0|[1-9][0-9]{0,19}", size) or int(size) >= 1 << 64:
        raise VerificationError(f"the checkpoint's tree size {size[:30]!r} is not a decimal number")
    root_hash = _b64decode(root, "the checkpoint's root hash")
    if len(root_hash) != HASH_SIZE:
        raise VerificationError(f"the checkpoint's root hash is not {HASH_SIZE} bytes")
    return Checkpoint(origin, int(size), root_hash, tuple(lines[3:]))


# --- receipts ------------------------------------------------------------------------------------------------

def http_get(url: str) -> bytes:
    """GET `url` from the public log; HTTP errors become VerificationError with the log's own message."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise VerificationError(f"the log URL must be http or https: {url}")
    request = urllib.request.Request(url, headers={"User-Agent": "verify_receipt.py"})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # nosec B310  # scheme checked above
            return answer.read(MAX_ANSWER_BYTES)
    except urllib.error.HTTPError as exc:
        raise VerificationError(f"the log answered {exc.code} for {url}: {_error_message(exc.read(MAX_ANSWER_BYTES))}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise VerificationError(f"could not reach the log at {url}: {getattr(exc, 'reason', exc)}") from None


def _error_message(answer: bytes) -> str:
    try:
        return str(json.loads(answer)["error"]["message"])
    except (ValueError, KeyError, TypeError, RecursionError):
        return answer[:200].decode("utf-8", "replace") or "no message"


def _field(mapping: dict, key: str, kind: type, where: str):
    value = mapping.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise VerificationError(f"{where} has no valid {key!r}")
    return value


def _hex32(value: str, what: str) -> bytes:
    if not re.fullmatch(r"[0-9a-fA-F]{64}", value):
        raise VerificationError(f"{what} is not a 32-byte hex hash")
    return bytes.fromhex(value)


def _proof(values, what: str) -> list[bytes]:
    if not isinstance(values, list):
        raise VerificationError(f"{what} is not a list")
    return [_b64decode(value, what) for value in values]


def _signed_checkpoint(note: str, verifier: NoteVerifier, origin: str, what: str) -> Checkpoint:
    checkpoint = parse_checkpoint(open_note(note, verifier))
    if checkpoint.origin != origin:
        raise VerificationError(f"{what} is for log {checkpoint.origin!r}, not {origin!r}")
    return checkpoint


def _fetch_json(fetch: Callable[[str], bytes], url: str) -> dict:
    raw = fetch(url)
    try:
        answer = json.loads(raw, object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError):
        raise VerificationError(f"the log's answer for {url} is not JSON") from None
    if not isinstance(answer, dict):
        raise VerificationError(f"the log's answer for {url} is not a JSON object")
    if "error" in answer:
        raise VerificationError(f"the log refused {url}: {_error_message(raw)}")
    return answer


def _text(fetch: Callable[[str], bytes], url: str) -> str:
    try:
        return fetch(url).decode("utf-8")
    except UnicodeDecodeError:
        raise VerificationError(f"the log's answer for {url} is not UTF-8 text") from None


# --- the receipt's content: the ledger entry its entry hash covers ------------------------------------------

LEDGER_ENTRY_VERSION = 1
LEDGER_ENTRY_FIELDS = {  # version 1 of consent/ledger.py `entry_document`: what the entry hash covers, no more
    "v": int, "client": str, "seq": int, "receipt": str, "purpose": str, "action": str, "channel": str, "policy": str,
    "occurred_at": str, "recorded_at": str, "recorded_by": (int, type(None)), "personal": str, "prev": str,
}


def ledger_entry_hash(entry: dict) -> bytes:
    """The consent ledger's entry hash of `entry`: SHA-256 of its JSON with sorted keys, no spaces, ASCII escapes."""
    return hashlib.sha256(json.dumps(entry, sort_keys=True, separators=(",", ":")).encode("utf-8")).digest()


def _ledger_entry(receipt: dict) -> dict:
    """The receipt's ledgerEntry, once it is a version-1 ledger document with every field of the right type."""
    entry = receipt.get("ledgerEntry")
    if not isinstance(entry, dict):
        raise VerificationError("the receipt has no ledgerEntry section: its content cannot be checked against its "
                                "entry hash (download the receipt again from the portal)")
    version = entry.get("v")
    if type(version) is not int or version != LEDGER_ENTRY_VERSION:
        raise VerificationError(f"unknown ledger entry version {_shown(version)}: this verifier knows version "
                                f"{LEDGER_ENTRY_VERSION} (download the latest verify_receipt.py)")
    for key, kind in LEDGER_ENTRY_FIELDS.items():
        if key not in entry or not isinstance(entry[key], kind) or isinstance(entry[key], bool):
            raise VerificationError(f"the receipt's ledgerEntry has no valid {key!r}")
    unknown = sorted(entry.keys() - LEDGER_ENTRY_FIELDS.keys())
    if unknown:
        raise VerificationError(f"the receipt's ledgerEntry has an unknown field {_shown(unknown[0])}")
    return entry


def _shown(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _instant(value: str, what: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise VerificationError(f"{what} {_shown(value)} is not an ISO 8601 date and time") from None
    if moment.utcoffset() is None:
        raise VerificationError(f"{what} {_shown(value)} has no time zone")
    return moment


def _readable_fields(entry: dict) -> dict:
    """What the receipt's human-readable fields must say, given the ledger entry the event was hashed from (the
    receipt's eventTime is checked apart: it is the same instant, written in the portal's time zone)."""
    granted = entry["action"] == "grant"
    return {
        "consentReceiptID": entry["receipt"], "piiPrincipalId": entry["client"], "recordId": f"{entry['client']}#{entry['seq']}",
        "eventType": "consent given" if granted else "consent withdrawn", "eventState": "active" if granted else "withdrawn",
        "policyVersion": entry["policy"],
        "consentTimestamp": int(_instant(entry["occurred_at"], "the ledgerEntry's occurred_at").timestamp()),
    }


# How the portal names each ledger channel in a receipt's collectionMethod (consent/models.py Channel, in English).
COLLECTION_METHODS = {"portal": "Portal", "gpc": "Global Privacy Control signal", "do-not-sell": "Do Not Sell or Share link",
                      "email": "Email", "letter": "Letter", "staff": "Staff", "api": "API", "import": "Import",
                      "signup": "Sign-up"}


def _check_purpose_and_channel(receipt: dict, entry: dict) -> None:
    """The purpose (by its code) and the channel the receipt names are those the ledger hashed. Titles, descriptions
    and recipients come from the purpose catalogue, not from the hash: the code is what is proven."""
    services = receipt.get("services")
    purposes = services[0].get("purposes") if isinstance(services, list) and services and isinstance(services[0], dict) else None
    purpose = purposes[0] if isinstance(purposes, list) and len(purposes) == 1 and isinstance(purposes[0], dict) else None
    if purpose is None:
        raise VerificationError("the receipt names no single purpose (services[0].purposes[0])")
    if purpose.get("purposeId") != entry["purpose"]:
        raise _altered("purpose (purposeId)", purpose.get("purposeId"), entry["purpose"])
    expected_type = "IMPLICIT" if entry["channel"] == "signup" else "EXPLICIT"
    if purpose.get("consentType") != expected_type:
        raise _altered("consentType", purpose.get("consentType"), expected_type)
    method = COLLECTION_METHODS.get(entry["channel"])
    if method is None:
        raise VerificationError(f"the ledger entry names an unknown channel {_shown(entry['channel'])}")
    if receipt.get("collectionMethod") != method:
        raise _altered("collectionMethod", receipt.get("collectionMethod"), method)


def _altered(key: str, value, expected) -> VerificationError:
    return VerificationError(f"the receipt's {key} {_shown(value)} is not what its ledger entry says "
                             f"({_shown(expected)}): the receipt does not say what the ledger recorded")


def verify_content(receipt: dict) -> tuple[bytes, str]:
    """Check that the receipt says what the ledger hashed: its ledgerEntry hashes to its entryHash, and its
    readable fields agree with that entry. Returns the entry hash and the line saying so."""
    entry_hash = _hex32(_field(receipt, "entryHash", str, "the receipt"), "the receipt's entryHash")
    entry = _ledger_entry(receipt)
    if ledger_entry_hash(entry) != entry_hash:
        raise VerificationError("the receipt's ledgerEntry does not hash to its entryHash: the event's content is "
                                "not what the ledger recorded")
    for key, expected in _readable_fields(entry).items():
        value = _field(receipt, key, type(expected), "the receipt")
        if value != expected:
            raise _altered(key, value, expected)
    _check_purpose_and_channel(receipt, entry)
    event_time = _field(receipt, "eventTime", str, "the receipt")
    if _instant(event_time, "the receipt's eventTime") != _instant(entry["occurred_at"], "the ledgerEntry's occurred_at"):
        raise _altered("eventTime", event_time, entry["occurred_at"])
    return entry_hash, (f"the receipt's content is what the ledger hashed: its ledger entry hashes to its entry hash "
                        f"{entry_hash.hex()}, and its receipt ID, client, record ID, purpose ({entry['purpose']}), "
                        f"channel ({entry['channel']}), event type and state ({receipt['eventType']}), policy version "
                        f"and event time agree with that entry")


# --- the receipt's place in the log --------------------------------------------------------------------------

def verify_receipt(receipt: dict, verifier: NoteVerifier, log_url: str | None = None,
                   fetch: Callable[[str], bytes] = http_get, origin: str | None = None) -> list[str]:
    """Check a consent receipt; with `log_url`, also against today's log. `origin` is the log the receipt must
    come from (default: the verifier key's name, which is the log's origin). Returns what was checked, one line
    each; raises VerificationError at the first check that fails."""
    if not isinstance(receipt, dict):
        raise VerificationError("the receipt is not a JSON object")
    origin = verifier.name if origin is None else origin
    entry_hash, content = verify_content(receipt)
    log = receipt.get("transparencyLog")
    if not isinstance(log, dict):
        raise VerificationError("the receipt has no transparencyLog section")
    if log.get("pending") is True:
        raise VerificationError("the receipt is pending: no checkpoint covered this event yet; download it again later")
    receipt_origin = _field(log, "origin", str, "transparencyLog")
    if receipt_origin != origin:
        raise VerificationError(f"the receipt is for log {_shown(receipt_origin)}, not the expected log {origin!r}")
    index = _field(log, "leafIndex", int, "transparencyLog")
    leaf_input = _hex32(_field(log, "leafInput", str, "transparencyLog"), "transparencyLog.leafInput")
    if leaf_input != entry_hash:
        raise VerificationError("transparencyLog.leafInput is not the receipt's entryHash")
    checks = [content, f"the log's leaf input is the receipt's entry hash {leaf_input.hex()}"]

    checkpoint = _signed_checkpoint(_field(log, "checkpoint", str, "transparencyLog"), verifier, origin,
                                    "the receipt's checkpoint")
    checks.append(f"the receipt's checkpoint (tree size {checkpoint.size}) is signed by {verifier} for log {origin}")
    proof = _proof(log.get("inclusionProof"), "transparencyLog.inclusionProof")
    verify_inclusion(index, checkpoint.size, leaf_hash(leaf_input), proof, checkpoint.root_hash)
    checks.append(f"the event is leaf {index} of the tree of size {checkpoint.size} (inclusion proof verified)")
    if log_url is not None:
        checks += _verify_against_log(log_url.rstrip("/") + "/", fetch, verifier, origin, index, leaf_input, checkpoint)
    return checks


def _verify_against_log(base: str, fetch, verifier, origin, index, leaf_input, old: Checkpoint) -> list[str]:
    latest = _signed_checkpoint(_text(fetch, base + "checkpoint"), verifier, origin, "the log's latest checkpoint")
    checks = [f"the log's latest checkpoint (tree size {latest.size}) is signed by {verifier}"]
    if latest.size < old.size:
        raise VerificationError(f"the log shrank: latest size {latest.size} < the receipt's size {old.size}")
    if latest.size == old.size:
        verify_consistency(old.size, latest.size, [], old.root_hash, latest.root_hash)
        checks.append("the latest checkpoint is the receipt's checkpoint (same size, same root hash)")
    else:
        answer = _fetch_json(fetch, f"{base}proof/consistency?from={old.size}&to={latest.size}")
        if answer.get("from") != old.size or answer.get("to") != latest.size:
            raise VerificationError("the log answered a consistency proof for other tree sizes")
        proof = _proof(answer.get("proof"), "the consistency proof")
        verify_consistency(old.size, latest.size, proof, old.root_hash, latest.root_hash)
        checks.append(f"the log only grew from size {old.size} to {latest.size} (consistency proof verified)")
    answer = _fetch_json(fetch, f"{base}proof/inclusion?index={index}&size={latest.size}")
    if answer.get("index") != index or answer.get("tree_size") != latest.size:
        raise VerificationError("the log answered an inclusion proof for another leaf or tree size")
    if "leaf_hash" in answer and _b64decode(answer["leaf_hash"], "the log's leaf hash") != leaf_hash(leaf_input):
        raise VerificationError(f"the log holds another event at leaf {index}")
    proof = _proof(answer.get("proof"), "the inclusion proof")
    verify_inclusion(index, latest.size, leaf_hash(leaf_input), proof, latest.root_hash)
    checks.append(f"the event is still leaf {index} of today's tree of size {latest.size} (inclusion proof verified)")
    return checks


# --- command line --------------------------------------------------------------------------------------------

def _unique_keys(pairs: list) -> dict:
    """A JSON object whose keys are all different: with a key twice, readers could each believe another value."""
    keys = [key for key, _ in pairs]
    if len(set(keys)) != len(keys):
        raise VerificationError(f"the JSON holds the key {_shown(next(k for k in keys if keys.count(k) > 1))} twice")
    return dict(pairs)


def _read(path: str, what: str) -> str:
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise VerificationError(f"cannot read {what} {path}: {getattr(exc, 'strerror', None) or exc}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify a consent receipt against the public consent log.")
    parser.add_argument("receipt", help="the consent receipt (JSON) downloaded from the portal")
    key = parser.add_mutually_exclusive_group(required=True)
    key.add_argument("--key", help="the log's verifier key, NAME+HASH+BASE64 (as served at <log>/key)")
    key.add_argument("--key-file", help="a file holding the log's verifier key")
    parser.add_argument("--origin", help="the log the receipt must come from, e.g. portal.example/consent-log "
                        "(default: the verifier key's name, which is the log's origin)")
    parser.add_argument("--log", metavar="URL", help="the public log, e.g. https://portal.example/transparency/log/: "
                        "also check that the log only grew since the receipt and still holds the event")
    args = parser.parse_args(argv)
    try:
        verifier = NoteVerifier.from_vkey(args.key if args.key is not None else _read(args.key_file, "key file"))
        try:
            receipt = json.loads(_read(args.receipt, "receipt"), object_pairs_hook=_unique_keys)
        except (ValueError, RecursionError):
            raise VerificationError(f"the receipt {args.receipt} is not valid JSON") from None
        checks = verify_receipt(receipt, verifier, args.log, origin=args.origin)
    except VerificationError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    for line in checks:
        print(f"ok: {line}")
    print("VERIFIED: the consent event of this receipt is in the public log")
    return 0


if __name__ == "__main__":
    sys.exit(main())
