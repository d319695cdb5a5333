"""A client's receipt, checked by the standalone verifier against the live public log: it passes on an honest log
and fails once an insider forged, deleted or moved an event, or rewrote the whole tree and signed it again."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client as Browser
from django.urls import reverse

from consent.models import ConsentEvent
from tests.conftest import make_client
from transparency_log.checkpoints import checkpoint_publish, log_signer

from .conftest import consent_changes
from .insider import behind_the_triggers, delete_event, forge_action

ROOT = Path(__file__).resolve().parents[2]


def download_receipt(client, event) -> dict:
    browser = Browser()
    browser.force_login(client.user)
    response = browser.get(reverse("consent:receipt", args=[event.receipt_id]))
    assert response.status_code == 200
    return response.json()


def run_verifier(receipt: dict, tmp_path, log_url: str | None = None) -> subprocess.CompletedProcess:
    path = tmp_path / "consent-receipt.json"
    path.write_text(json.dumps(receipt))
    command = [sys.executable, "-I", str(ROOT / "tools" / "verify_receipt.py"), str(path), "--key", log_signer().vkey]
    if log_url:
        command += ["--log", log_url]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=tmp_path)


@pytest.mark.django_db
def test_a_receipt_is_pending_until_a_checkpoint_covers_its_event_then_carries_the_proof(settings):
    client = make_client()
    event = consent_changes(client, 1)[0]
    part = download_receipt(client, event)["transparencyLog"]
    assert part == {"origin": settings.LOG_ORIGIN, "leafInput": event.entry_hash, "pending": True}
    checkpoint = checkpoint_publish()
    part = download_receipt(client, event)["transparencyLog"]
    assert set(part) == {"origin", "leafIndex", "leafInput", "checkpoint", "inclusionProof"}
    assert part["checkpoint"] == checkpoint.note and part["leafInput"] == event.entry_hash
    later = consent_changes(client, 1)[0]
    checkpoint_publish()
    assert download_receipt(client, event)["transparencyLog"]["checkpoint"] == checkpoint.note  # the first to include it
    assert download_receipt(client, later)["transparencyLog"]["leafIndex"] == part["leafIndex"] + 1


@pytest.mark.django_db
def test_a_pending_receipt_is_refused_by_the_verifier_with_the_reason(tmp_path):
    client = make_client()
    event = consent_changes(client, 1)[0]
    result = run_verifier(download_receipt(client, event), tmp_path)
    assert result.returncode == 1 and "pending" in result.stderr.lower() and "Traceback" not in result.stderr


LIVE = pytest.mark.django_db(transaction=True)  # the live server reads what the test committed


@pytest.fixture
def receipt_and_log(live_server):
    client, other = make_client(), make_client("other@example.com", country="US", region="US-CA", phone="+14155552671")
    events = consent_changes(client, 4)
    consent_changes(other, 3)
    checkpoint_publish()
    consent_changes(other, 2)
    checkpoint_publish()
    victim = events[1]
    return client, victim, download_receipt(client, victim), live_server.url + "/transparency/log/"


@LIVE
def test_a_receipt_verifies_against_the_live_log(receipt_and_log, tmp_path):
    _client, _victim, receipt, log_url = receipt_and_log
    result = run_verifier(receipt, tmp_path, log_url)
    assert result.returncode == 0, result.stderr


@LIVE
def test_the_receipt_of_an_event_forged_since_fails_against_the_live_log(receipt_and_log, tmp_path):
    _client, victim, receipt, log_url = receipt_and_log
    forge_action(victim)
    result = run_verifier(receipt, tmp_path, log_url)
    assert result.returncode == 1 and "FAILED" in result.stderr


@LIVE
def test_a_receipt_downloaded_after_the_forgery_fails_even_without_the_live_log(receipt_and_log, tmp_path):
    client, victim, _receipt, _log_url = receipt_and_log
    forge_action(victim)
    result = run_verifier(download_receipt(client, ConsentEvent.objects.get(pk=victim.pk)), tmp_path)
    assert result.returncode == 1 and "FAILED" in result.stderr


@LIVE
def test_the_receipt_of_an_event_deleted_since_fails_against_the_live_log(receipt_and_log, tmp_path):
    _client, victim, receipt, log_url = receipt_and_log
    delete_event(victim, renumber_log=True)
    result = run_verifier(receipt, tmp_path, log_url)
    assert result.returncode == 1 and "FAILED" in result.stderr


@LIVE
def test_the_receipt_of_an_event_moved_in_the_log_fails_against_the_live_log(receipt_and_log, tmp_path):
    from transparency_log.models import LogLeaf

    _client, victim, receipt, log_url = receipt_and_log
    index = receipt["transparencyLog"]["leafIndex"]
    neighbour = LogLeaf.objects.get(index=index + 1)
    behind_the_triggers(("UPDATE transparency_log_logleaf SET index = -1 WHERE index = %s", [index]),
                        ("UPDATE transparency_log_logleaf SET index = %s WHERE event_id = %s", [index, neighbour.event_id]),
                        ("UPDATE transparency_log_logleaf SET index = %s WHERE index = -1", [index + 1]))
    result = run_verifier(receipt, tmp_path, log_url)
    assert result.returncode == 1 and "FAILED" in result.stderr


@LIVE
def test_a_tree_rebuilt_from_a_forged_ledger_and_signed_again_is_inconsistent_with_the_receipt(receipt_and_log, tmp_path):
    from transparency_log import merkle
    from transparency_log.models import LogLeaf

    client, victim, receipt, log_url = receipt_and_log
    forge_action(victim)
    # The insider holds the signing key: rebuilds every stored node from the forged ledger and publishes a fresh
    # checkpoint. The old checkpoints stay (deleting them would only make the verifier's request fail sooner).
    leaves = [bytes.fromhex(h) for h in LogLeaf.objects.order_by("index").values_list("event__entry_hash", flat=True)]
    frontier, rows = {}, []
    for index, leaf in enumerate(leaves):
        rows += merkle.appended_nodes(index, merkle.leaf_hash(leaf), frontier)
    behind_the_triggers(("DELETE FROM transparency_log_lognode", []),
                        *[("INSERT INTO transparency_log_lognode (level, index, hash) VALUES (%s, %s, %s)", list(row))
                          for row in rows])
    consent_changes(client, 1)
    checkpoint_publish()
    result = run_verifier(receipt, tmp_path, log_url)
    assert result.returncode == 1 and "does not match the root hashes" in result.stderr


@pytest.mark.django_db
def test_the_receipt_carries_exactly_what_its_entry_hash_covers():
    import hashlib

    client = make_client()
    event = consent_changes(client, 1)[0]
    receipt = download_receipt(client, event)
    entry = receipt["ledgerEntry"]
    canonical = json.dumps(entry, sort_keys=True, separators=(",", ":")).encode()
    assert hashlib.sha256(canonical).hexdigest() == receipt["entryHash"] == event.entry_hash
    assert (entry["receipt"], entry["client"], entry["action"]) == (str(event.receipt_id), str(client.public_id), event.action)


@LIVE
def test_an_event_altered_without_rehashing_fails_on_its_next_receipt(receipt_and_log, tmp_path):
    """An insider flips the action and leaves the hash: the hash chain would show it to verify_ledger, and the
    client's verifier shows it too, because the receipt's readable fields no longer match what the hash covers."""
    client, victim, _receipt, log_url = receipt_and_log
    flipped = "grant" if victim.action == "withdraw" else "withdraw"
    behind_the_triggers(("UPDATE consent_consentevent SET action = %s WHERE id = %s", [flipped, victim.pk]))
    result = run_verifier(download_receipt(client, ConsentEvent.objects.get(pk=victim.pk)), tmp_path, log_url)
    assert result.returncode == 1 and "FAILED" in result.stderr


def test_the_verifier_knows_every_channel_by_the_name_receipts_give_it():
    from django.utils import translation

    from consent.models import Channel
    from tools.verify_receipt import COLLECTION_METHODS

    with translation.override("en"):
        assert COLLECTION_METHODS == {channel.value: str(channel.label) for channel in Channel}


@pytest.mark.django_db
def test_a_receipt_naming_another_purpose_or_channel_fails(tmp_path):
    client = make_client()
    event = consent_changes(client, 1)[0]
    checkpoint_publish()
    receipt = download_receipt(client, event)
    assert run_verifier(receipt, tmp_path).returncode == 0
    for mutate in (lambda r: r["services"][0]["purposes"][0].update(purposeId="order-fulfilment"),
                   lambda r: r.update(collectionMethod="Letter"),
                   lambda r: r["services"][0]["purposes"][0].update(consentType="IMPLICIT")):
        altered = json.loads(json.dumps(receipt))
        mutate(altered)
        result = run_verifier(altered, tmp_path)
        assert result.returncode == 1 and "is not what its ledger entry says" in result.stderr


@pytest.mark.django_db
def test_a_receipt_with_a_key_twice_is_refused(tmp_path):
    """Two eventType keys: one reader would believe the first, the verifier the last. Neither is believed."""
    client = make_client()
    event = consent_changes(client, 1)[0]
    checkpoint_publish()
    text = json.dumps(download_receipt(client, event))
    path = tmp_path / "twice.json"
    path.write_text(text[:-1] + ', "eventType": "consent given"}')
    result = subprocess.run([sys.executable, "-I", str(ROOT / "tools" / "verify_receipt.py"), str(path), "--key",
                             log_signer().vkey], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "holds the key 'eventType' twice" in result.stderr
