"""`verify_log` catches what `verify_ledger` cannot: an insider who rewrote events and re-hashed the chains."""

import pytest
from django.core.management import call_command
from django.db import connection

from consent.models import ConsentEvent
from transparency_log.checkpoints import checkpoint_publish
from transparency_log.models import LogLeaf

from .conftest import consent_changes
from .insider import behind_the_triggers, delete_event, forge_action, rehash_chain

pytestmark = pytest.mark.django_db


def verify(capsys):
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_log")
    return exit_info.value.code, capsys.readouterr().err


@pytest.fixture
def published_log(two_clients):
    consent_changes(two_clients[0], 5)
    checkpoint_publish()
    consent_changes(two_clients[1], 4, purpose_code="marketing-messages")
    consent_changes(two_clients[0], 3)
    checkpoint_publish()
    return two_clients


def leaf_of(event) -> int:
    return LogLeaf.objects.get(event=event).index


def test_an_intact_log_verifies(published_log, capsys):
    call_command("verify_log")
    leaves = ConsentEvent.objects.count()
    assert (f"Consent log intact: {leaves} leaves, 2 checkpoint(s) verified; every entry hash matches its event "
            f"({leaves} events).") in capsys.readouterr().out


def test_a_forged_and_rehashed_event_is_named_by_its_index(published_log, capsys):
    victim = ConsentEvent.objects.filter(client=published_log[0]).order_by("sequence")[2]
    forge_action(victim)  # verify_ledger passes now (asserted inside)
    code, err = verify(capsys)
    assert code == 1
    assert f"First bad index: {leaf_of(victim)}." in err
    assert f"leaf {leaf_of(victim)}: the ledger's event (id {victim.pk}) no longer has the entry hash" in err


def test_a_forgery_that_also_rewrites_the_logs_hashes_fails_on_the_signed_checkpoints(published_log, capsys):
    from transparency_log import merkle

    victim = ConsentEvent.objects.filter(client=published_log[0]).order_by("sequence")[1]
    forge_action(victim)
    # The insider rewrites every stored node from the forged ledger too; only the signed checkpoints stand in the way.
    leaves = [bytes.fromhex(h) for h in LogLeaf.objects.order_by("index").values_list("event__entry_hash", flat=True)]
    frontier, rows = {}, []
    for index, leaf in enumerate(leaves):
        rows += merkle.appended_nodes(index, merkle.leaf_hash(leaf), frontier)
    behind_the_triggers(("DELETE FROM transparency_log_lognode", []), *[
        ("INSERT INTO transparency_log_lognode (level, index, hash) VALUES (%s, %s, %s)", list(row)) for row in rows])
    code, err = verify(capsys)
    assert code == 1
    assert "was signed for another tree: a leaf in [0, " in err
    assert "First bad index: 0." in err


def middle_event(client):
    return ConsentEvent.objects.filter(client=client, purpose__code="marketing-messages").order_by("sequence")[1]


def test_a_deleted_event_is_named_by_its_index(published_log, capsys):
    victim = middle_event(published_log[1])
    index = leaf_of(victim)
    delete_event(victim, renumber_log=False)
    code, err = verify(capsys)
    assert code == 1 and f"First bad index: {index}." in err
    assert f"leaf {index}: missing from the log" in err


def test_a_deleted_event_with_the_later_leaves_moved_up_is_named_by_its_index(published_log, capsys):
    victim = middle_event(published_log[1])
    index = leaf_of(victim)
    delete_event(victim, renumber_log=True)
    rehash_chain(published_log[1].pk)
    code, err = verify(capsys)
    assert code == 1 and f"First bad index: {index}." in err


def test_two_events_swapped_in_the_log_are_named_by_the_first_index(published_log, capsys):
    first, second = LogLeaf.objects.order_by("index")[3:5]
    behind_the_triggers(
        ("UPDATE transparency_log_logleaf SET index = -1 WHERE index = %s", [first.index]),
        ("UPDATE transparency_log_logleaf SET index = %s WHERE index = %s", [first.index, second.index]),
        ("UPDATE transparency_log_logleaf SET index = %s WHERE index = -1", [second.index]))
    code, err = verify(capsys)
    assert code == 1 and f"First bad index: {first.index}." in err


def test_an_event_left_out_of_the_log_is_reported(published_log, capsys):
    with connection.cursor() as cursor:  # the trigger that queues every new event does not fire in replica mode
        cursor.execute("SET LOCAL session_replication_role = replica")
        event = consent_changes(published_log[0], 1)[0]
        cursor.execute("SET LOCAL session_replication_role = origin")
    code, err = verify(capsys)
    assert code == 1 and f"ledger event id {event.pk} is neither in the log nor queued for it" in err


def test_a_checkpoint_deleted_from_the_database_is_still_in_the_witness_file(published_log, capsys):
    behind_the_triggers(("DELETE FROM transparency_log_signedcheckpoint WHERE tree_size = "
                         "(SELECT max(tree_size) FROM transparency_log_signedcheckpoint)", []))
    code, err = verify(capsys)
    assert code == 1 and "of the witness file is missing from the database" in err


def test_a_checkpoint_signed_with_another_key_is_refused(published_log, capsys, settings):
    from transparency_log.note import NoteSigner

    settings.LOG_SIGNING_KEY = NoteSigner.generate(settings.LOG_ORIGIN)
    consent_changes(published_log[0], 1)
    checkpoint_publish()
    settings.LOG_SIGNING_KEY = __import__("os").environ["LOG_SIGNING_KEY"]
    code, err = verify(capsys)
    assert code == 1 and "checkpoint " in err and "signature" in err.lower()


def test_a_corrupted_stored_node_that_proofs_are_served_from_is_named(published_log, capsys):
    behind_the_triggers(("UPDATE transparency_log_lognode SET hash = %s WHERE level = 2 AND index = 1", [bytes(32)]))
    code, err = verify(capsys)
    assert code == 1 and "stored node (2, 1) is not the hash of its children" in err
    assert "First bad index: 4." in err  # the first leaf under it


def test_an_event_altered_without_rehashing_is_caught_by_the_same_command(published_log, capsys):
    """The log holds only entry hashes; the command also recomputes each hash from its event, as verify_ledger does."""
    victim = ConsentEvent.objects.filter(client=published_log[0]).order_by("sequence")[2]
    behind_the_triggers(("UPDATE consent_consentevent SET channel = 'letter' WHERE id = %s", [victim.pk]))
    code, err = verify(capsys)
    assert code == 1 and f"ledger: client {published_log[0].public_id} event #{victim.sequence}" in err
    assert "its content no longer matches its hash" in err
    call_command("verify_log", "--log-only")  # the tree itself is intact
    assert "Consent log intact" in capsys.readouterr().out


def test_checkpoints_are_checked_against_the_pinned_verifier_keys(published_log, capsys, settings):
    from transparency_log.note import NoteSigner

    settings.LOG_VERIFIER_KEYS = [NoteSigner.from_skey(NoteSigner.generate(settings.LOG_ORIGIN)).vkey]
    code, err = verify(capsys)  # the configured signing key is not among the pinned ones: an insider swapped it
    assert code == 1 and "checkpoint " in err and "no signature by key" in err
    settings.LOG_VERIFIER_KEYS += [NoteSigner.from_skey(settings.LOG_SIGNING_KEY).vkey]  # a rotation keeps the old key
    call_command("verify_log")
    assert "Consent log intact" in capsys.readouterr().out


def test_a_deleted_witness_file_is_reported_and_not_rebuilt_from_the_database(published_log, capsys,
                                                                              consent_log_witness_file):
    consent_log_witness_file.unlink()
    code, err = verify(capsys)
    assert code == 1 and "is missing, though 2 checkpoint(s) were published" in err
    consent_changes(published_log[0], 1)
    checkpoint_publish()
    assert not consent_log_witness_file.exists() or consent_log_witness_file.read_text() == ""


def test_a_checkpoint_missing_from_the_witness_file_is_reported(published_log, capsys, consent_log_witness_file):
    lines = consent_log_witness_file.read_text().splitlines()
    consent_log_witness_file.write_text(lines[0] + "\n")
    code, err = verify(capsys)
    assert code == 1 and "1 checkpoint(s) of the database are not in the witness file" in err


def test_a_checkpoint_witnessed_again_by_an_appended_line_is_reported(published_log, capsys, consent_log_witness_file):
    """An append-only file cannot be rewritten, only appended to: a second line for a size is an attempt to re-witness."""
    import json

    first = json.loads(consent_log_witness_file.read_text().splitlines()[0])
    with consent_log_witness_file.open("a") as file:
        file.write(json.dumps({**first, "note": first["note"].replace("\n\n", "\n\n\u2014 x y\n")}) + "\n")
    code, err = verify(capsys)
    assert code == 1 and f"is for tree size {first['tree_size']} after" in err and "witnessed again or out of order" in err


def test_a_witness_file_deleted_after_the_first_checkpoint_is_not_started_again(two_clients, capsys,
                                                                              consent_log_witness_file):
    from transparency_log.checkpoints import witness_copy_update

    consent_changes(two_clients[0], 2)
    checkpoint_publish()
    consent_log_witness_file.unlink()
    assert witness_copy_update() == 0 and consent_log_witness_file.read_text() == ""
    code, err = verify(capsys)
    assert code == 1 and "1 checkpoint(s) of the database are not in the witness file" in err
