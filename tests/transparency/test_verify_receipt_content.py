"""A receipt's content tied to its entry hash: the verifier recomputes the ledger's hash of the receipt's ledgerEntry
and holds the receipt's readable fields to it, so that an event changed in the database without re-hashing it, or a
downloaded receipt edited afterwards, fails, naming what does not agree."""

import hashlib
import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from consent import ledger
from tests.transparency.synthetic import (
    CLIENT,
    INDEX,
    LEDGER,
    VKEY,
    assert_failed,
    canonical_hash,
    ledger_entry,
    make_receipt,
    readable_fields,
    run,
)
from tools.verify_receipt import NoteVerifier, VerificationError, ledger_entry_hash, verify_content, verify_receipt

VERIFIER = NoteVerifier.from_vkey(VKEY)
NOT_HASHED = "the receipt's ledgerEntry does not hash to its entryHash"


def flipped(*, rehash: bool = False, update: tuple[str, ...] = ()) -> dict:
    """The receipt of the client's withdrawal (event 5) with the ledger entry turned into a grant; with `rehash`
    its entryHash and leafInput are the hash of the changed entry; the readable fields in `update` follow it."""
    receipt = make_receipt()
    entry = receipt["ledgerEntry"]
    entry["action"] = "grant"
    if rehash:
        receipt["entryHash"] = receipt["transparencyLog"]["leafInput"] = canonical_hash(entry).hex()
    receipt.update({key: value for key, value in readable_fields(entry).items() if key in update})
    return receipt


def failure(receipt) -> str:
    with pytest.raises(VerificationError) as error:
        verify_receipt(receipt, VERIFIER)
    return str(error.value)


def test_a_genuine_receipt_says_its_content_is_what_the_ledger_hashed(tmp_path):
    result = run(tmp_path, make_receipt())
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"ok: the receipt's content is what the ledger hashed: its ledger entry hashes to its entry "
                            f"hash {canonical_hash(LEDGER[INDEX]).hex()}")
    assert "(consent withdrawn)" in first


def test_an_action_flipped_in_the_database_without_rehashing_fails_though_the_receipt_reads_consistently(tmp_path):
    """The insider's change: the portal writes the receipt from the changed row, but the entry hash is the old one."""
    receipt = flipped(update=("eventType", "eventState"))
    assert (receipt["eventState"], receipt["entryHash"]) == ("active", make_receipt()["entryHash"])
    assert_failed(run(tmp_path, receipt), NOT_HASHED)


def test_a_rehashed_entry_whose_event_state_was_left_fails_naming_the_event_state(tmp_path):
    assert_failed(run(tmp_path, flipped(rehash=True, update=("eventType",))),
                  "the receipt's eventState 'withdrawn' is not what its ledger entry says ('active')")


def test_a_forgery_consistent_in_every_field_is_still_caught_by_the_log(tmp_path):
    receipt = flipped(rehash=True, update=tuple(readable_fields(LEDGER[INDEX])))
    assert verify_content(receipt)[0] == canonical_hash(receipt["ledgerEntry"])
    assert_failed(run(tmp_path, receipt), "the inclusion proof of leaf 5 does not lead to the root hash")


@pytest.mark.parametrize(("key", "value"), [
    ("consentReceiptID", "b1d1c1a0-0000-4000-8000-000000000007"),
    ("piiPrincipalId", str(uuid.UUID(int=1))),
    ("recordId", f"{CLIENT}#7"),
    ("eventType", "consent given"),
    ("eventState", "active"),
    ("policyVersion", "2026-01"),
    ("consentTimestamp", make_receipt()["consentTimestamp"] + 1),
])
def test_a_readable_field_that_disagrees_with_the_ledger_entry_fails_naming_it(key, value):
    receipt = make_receipt()
    expected = receipt[key]
    receipt[key] = value
    assert failure(receipt).startswith(f"the receipt's {key} {value!r} is not what its ledger entry says ({expected!r})")


@pytest.mark.parametrize("written", [
    pytest.param("2026-12-07T02:11:59.123462+00:00", id="UTC"),
    pytest.param("2026-12-06T21:11:59.123462-05:00", id="New York"),
    pytest.param("2026-12-07T02:11:59.123462Z", id="Z"),
])
def test_the_event_time_may_be_written_in_any_time_zone(written):
    receipt = make_receipt()
    assert receipt["eventTime"] == "2026-12-07T10:11:59.123462+08:00"
    receipt["eventTime"] = written
    assert len(verify_receipt(receipt, VERIFIER)) == 4


@pytest.mark.parametrize(("written", "message"), [
    pytest.param("2026-12-07T10:11:59.123462+00:00", "is not what its ledger entry says ('2026-12-07T02:11:59.123462+00:00')",
                 id="same wall clock, other instant"),
    pytest.param("2026-12-07T10:11:59.123463+08:00", "is not what its ledger entry says", id="a microsecond later"),
    pytest.param("2026-12-07T10:11:59.123462", "has no time zone", id="no time zone"),
    pytest.param("yesterday", "is not an ISO 8601 date and time", id="not a date"),
])
def test_an_event_time_of_another_instant_fails_naming_the_event_time(tmp_path, written, message):
    receipt = make_receipt()
    receipt["eventTime"] = written
    assert_failed(run(tmp_path, receipt), f"the receipt's eventTime '{written}' ")
    assert message in failure(receipt)


def rehashed(change) -> dict:
    """A receipt whose ledgerEntry was changed by `change` and whose entryHash and leafInput were recomputed."""
    receipt = make_receipt()
    change(receipt["ledgerEntry"])
    receipt["entryHash"] = receipt["transparencyLog"]["leafInput"] = canonical_hash(receipt["ledgerEntry"]).hex()
    return receipt


@pytest.mark.parametrize(("receipt", "message"), [
    pytest.param({key: value for key, value in make_receipt().items() if key != "ledgerEntry"},
                 "the receipt has no ledgerEntry section: its content cannot be checked against its entry hash",
                 id="no ledgerEntry"),
    pytest.param({**make_receipt(), "ledgerEntry": "{}"}, "the receipt has no ledgerEntry section", id="ledgerEntry text"),
    pytest.param(rehashed(lambda entry: entry.update(v=2)), "unknown ledger entry version 2", id="v=2"),
    pytest.param(rehashed(lambda entry: entry.pop("v")), "unknown ledger entry version None", id="no v"),
    pytest.param(rehashed(lambda entry: entry.update(v=True)), "unknown ledger entry version True", id="v true"),
    pytest.param(rehashed(lambda entry: entry.update(v="1")), "unknown ledger entry version '1'", id="v text"),
    pytest.param(rehashed(lambda entry: entry.update(seq="6")), "ledgerEntry has no valid 'seq'", id="seq text"),
    pytest.param(rehashed(lambda entry: entry.pop("recorded_by")), "ledgerEntry has no valid 'recorded_by'",
                 id="no recorded_by"),
    pytest.param(rehashed(lambda entry: entry.update(recorded_by=False)), "ledgerEntry has no valid 'recorded_by'",
                 id="recorded_by boolean"),
    pytest.param(rehashed(lambda entry: entry.update(note="x")), "ledgerEntry has an unknown field 'note'", id="extra field"),
    pytest.param(rehashed(lambda entry: entry.update(occurred_at="soon")), "occurred_at 'soon' is not an ISO 8601",
                 id="occurred_at not a date"),
    pytest.param({**make_receipt(), "consentTimestamp": "1796591519"}, "the receipt has no valid 'consentTimestamp'",
                 id="consentTimestamp text"),
    pytest.param({key: value for key, value in make_receipt().items() if key != "eventState"},
                 "the receipt has no valid 'eventState'", id="no eventState"),
])
def test_a_malformed_ledger_entry_or_field_fails_cleanly(tmp_path, receipt, message):
    assert_failed(run(tmp_path, receipt), message)


def test_a_ledger_entry_with_non_ascii_text_is_hashed_with_ascii_escapes_as_the_ledger_does(tmp_path):
    entry = ledger_entry(1, "0" * 64) | {"policy": "2026-秋季"}
    receipt = make_receipt(0, 1, ledger=[entry])
    result = run(tmp_path, receipt)
    assert result.returncode == 0, result.stderr
    raw_utf8 = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    receipt["entryHash"] = receipt["transparencyLog"]["leafInput"] = hashlib.sha256(raw_utf8).hexdigest()
    assert failure(receipt).startswith(NOT_HASHED)


def test_the_verifier_hashes_a_ledger_entry_exactly_as_the_portals_ledger_does():
    """consent/ledger.py hashes events; the receipt carries its document: a receipt made from it verifies."""
    occurred = datetime(2026, 12, 7, 5, 11, 59, 123456, tzinfo=timezone(timedelta(hours=8)))
    content = {"client_public_id": uuid.UUID(CLIENT), "sequence": 3, "receipt_id": uuid.uuid4(),
               "purpose_code": "promotional-sharing", "action": "withdraw", "channel": "staff", "policy_label": "2026-秋",
               "occurred_at": occurred, "recorded_at": occurred + timedelta(seconds=1), "recorded_by_id": 42,
               "personal_digest": "ab" * 32, "previous_hash": "cd" * 32}
    document = ledger.entry_document(**content)
    assert ledger_entry_hash(document).hex() == ledger.entry_hash(**content)
    receipt = {**readable_fields(document), "entryHash": ledger.entry_hash(**content), "ledgerEntry": document}
    assert document["occurred_at"] == "2026-12-06T21:11:59.123456+00:00"
    assert verify_content(receipt)[0].hex() == ledger.entry_hash(**content)
