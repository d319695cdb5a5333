"""What an insider with the database can do: write behind every trigger, and re-hash what they changed so that the
per-client chains verify again (the attack that fools `verify_ledger`)."""

from django.db import connection, transaction

from consent import ledger
from consent.models import ConsentEvent
from consent.verification import ledger_verify


def behind_the_triggers(*statements: tuple[str, list]) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        for sql, params in statements:
            cursor.execute(sql, params)
        cursor.execute("SET LOCAL session_replication_role = origin")


def rehash_chain(client_id: int) -> None:
    """Number the client's events 1, 2, 3… again (an event may have been deleted) and recompute every entry hash
    from the rows as they are now, as a careful forger would."""
    previous = ledger.GENESIS_HASH
    updates = []
    events = ConsentEvent.objects.filter(client_id=client_id).order_by("sequence").select_related(
        "client", "purpose", "policy_version")
    for sequence, event in enumerate(events, start=1):
        entry = ledger.entry_hash(
            client_public_id=event.client.public_id, sequence=sequence, receipt_id=event.receipt_id,
            purpose_code=event.purpose.code, action=event.action, channel=event.channel,
            policy_label=event.policy_version.label if event.policy_version else "", occurred_at=event.occurred_at,
            recorded_at=event.recorded_at, recorded_by_id=event.recorded_by_id, personal_digest=event.personal_digest,
            previous_hash=previous)
        updates.append(("UPDATE consent_consentevent SET sequence = %s, previous_hash = decode(%s, 'hex'), "
                        "entry_hash = decode(%s, 'hex') WHERE id = %s",
                        [sequence, previous, entry, event.pk]))
        previous = entry
    updates.append(("UPDATE consent_consentchain SET length = %s, head_hash = decode(%s, 'hex') WHERE client_id = %s",
                    [len(events), previous, client_id]))
    behind_the_triggers(*updates)
    assert ledger_verify().intact, "the forgery should fool the per-client chain check"


def delete_event(event: ConsentEvent, *, renumber_log: bool) -> None:
    """Delete an event (not the last of its purpose: no current state names it) with its personal values and its
    leaf; with `renumber_log`, move every later leaf up one so that the log has no gap."""
    from transparency_log.models import LogLeaf

    index = LogLeaf.objects.get(event=event).index
    statements = [("DELETE FROM transparency_log_logleaf WHERE event_id = %s", [event.pk]),
                  ("DELETE FROM consent_consenteventpersonaldata WHERE event_id = %s", [event.pk]),
                  ("DELETE FROM consent_consentevent WHERE id = %s", [event.pk])]
    if renumber_log:  # in two steps, so that no two leaves ever hold one index
        statements += [("UPDATE transparency_log_logleaf SET index = -index WHERE index > %s", [index]),
                       ("UPDATE transparency_log_logleaf SET index = -index - 1 WHERE index < 0", [])]
    behind_the_triggers(*statements)


def forge_action(event: ConsentEvent) -> None:
    """Flip a withdrawal into a grant (or back), then re-hash the client's chain and fix the current state."""
    flipped = "grant" if event.action == "withdraw" else "withdraw"
    behind_the_triggers(("UPDATE consent_consentevent SET action = %s WHERE id = %s", [flipped, event.pk]),
                        ("UPDATE consent_consentstate SET granted = %s WHERE last_event_id = %s",
                         [flipped == "grant", event.pk]))
    rehash_chain(event.client_id)
