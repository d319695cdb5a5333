"""Default consent states set-based: for many new clients at once (synthetic demo data, migrations of client lists),
and for every existing client when a per-recipient purpose is added (`consent_defaults_for_new_purpose_record`).

The same events `consent_defaults_record` writes one by one, in a few set-based inserts per batch: the
clients are new, so nobody else can be appending to their chains.
"""

import uuid

from django.db import connection, transaction
from django.utils import timezone

from accounts.bulk import ids_reserve, rows_insert
from accounts.models import Client
from amendments.selectors import policy_in_force

from . import ledger
from .models import (
    Channel,
    ConsentAction,
    ConsentChain,
    ConsentDefaultRule,
    ConsentEvent,
    ConsentEventPersonalData,
    ConsentState,
    Purpose,
)
from .offers import offer_check
from .services import consent_purposes_parents_first, default_granted

EVENT_FIELDS = ["id", "receipt_id", "client", "sequence", "purpose", "action", "channel", "policy_version", "occurred_at",
                "recorded_at", "recorded_by", "idempotency_key", "personal_digest", "previous_hash", "entry_hash"]
PERSONAL_FIELDS = ["event", "salt", "ip_address", "user_agent", "reason", "evidence_reference", "evidence_received_on",
                   "evidence_file", "evidence_sha256"]
STATE_FIELDS = ["id", "client", "purpose", "granted", "last_event", "changed_at"]
CHAIN_FIELDS = ["client", "length", "head_hash"]


@transaction.atomic
def consent_defaults_bulk_record(*, clients) -> int:
    """Record signup defaults for `clients`, which must have no consent events yet. Returns the events written."""
    now = timezone.now()
    version = policy_in_force(at=now)
    label = version.label if version else ""
    purposes = list(consent_purposes_parents_first())
    rules = list(ConsentDefaultRule.objects.all())
    count = len(clients) * len(purposes)
    event_ids, state_ids = iter(ids_reserve(ConsentEvent, count)), iter(ids_reserve(ConsentState, count))
    events, personal, states, chains = [], [], [], []
    offered = offer_check(client_ids=[client.pk for client in clients])  # offers.py: not another client's purpose
    for client in clients:
        previous, granted = ledger.GENESIS_HASH, {}
        mine = [purpose for purpose in purposes if offered(client.pk, purpose.pk)]
        for sequence, purpose in enumerate(mine, start=1):
            granted[purpose.pk] = default_granted(purpose=purpose, jurisdiction=client.jurisdiction, rules=rules,
                                                  parent_granted=granted.get(purpose.parent_id, False))
            action = ConsentAction.GRANT if granted[purpose.pk] else ConsentAction.WITHDRAW
            salt, receipt_id, event_id = ledger.new_salt(), uuid.uuid4(), next(event_ids)
            digest = ledger.personal_digest(salt=salt, ip_address=None, user_agent="", reason="", evidence_reference="",
                                            evidence_received_on=None, evidence_sha256="")
            entry = ledger.entry_hash(
                client_public_id=client.public_id, sequence=sequence, receipt_id=receipt_id, purpose_code=purpose.code,
                action=action, channel=Channel.SIGNUP, policy_label=label, occurred_at=now, recorded_at=now,
                recorded_by_id=None, personal_digest=digest, previous_hash=previous)
            events.append((event_id, receipt_id, client.pk, sequence, purpose.pk, action, Channel.SIGNUP,
                           version.pk if version else None, now, now, None, None, digest, previous, entry))
            personal.append((event_id, salt, None, "", "", "", None, "", ""))
            states.append((next(state_ids), client.pk, purpose.pk, action == ConsentAction.GRANT, event_id, now))
            previous = entry
        chains.append((client.pk, len(mine), previous))
    rows_insert(ConsentEvent, EVENT_FIELDS, events)
    rows_insert(ConsentEventPersonalData, PERSONAL_FIELDS, personal)
    rows_insert(ConsentState, STATE_FIELDS, states)
    rows_insert(ConsentChain, CHAIN_FIELDS, chains)
    return len(events)


# --- defaults of a purpose added later, for every client already here ------------------------------------------------

RECIPIENT_DEFAULTS_BATCH = 2000
_LOCK_CLIENTS_SQL = ("SELECT id FROM accounts_client WHERE id = ANY(%s) AND erased_at IS NULL ORDER BY id FOR KEY SHARE")
# head_hash is bytea (consent/fields.py): read and written here as hex, as the rest of the code sees it.
_LOCK_CHAINS_SQL = ("SELECT client_id, length, encode(head_hash, 'hex') FROM consent_consentchain WHERE client_id = ANY(%s) "
                    "ORDER BY client_id FOR UPDATE")
_MOVE_CHAINS_SQL = ("UPDATE consent_consentchain AS ch SET length = v.length, head_hash = decode(v.head, 'hex') "
                    "FROM unnest(%s::bigint[], %s::int[], %s::text[]) AS v(client_id, length, head) "
                    "WHERE ch.client_id = v.client_id")


@transaction.atomic
def consent_defaults_for_new_purpose_record(*, purpose: Purpose) -> list[int]:
    """Give every client who has no state for `purpose` (a per-recipient purpose just added) its default, as `signup`
    events appended to their chains, set-based in batches. Returns the ids of the clients it starts withdrawn for.

    The default is the one a client signing up now would get (`default_granted`: for an opt-in jurisdiction never
    granted, so a new recipient never silently receives anyone who has to be asked first). Chains are locked as every
    write locks them (the client row key-shared first, then the chain), so a concurrent change of the same client
    waits or is waited for; an erased client gets nothing.
    """
    now = timezone.now()
    version = policy_in_force(at=now)
    rules = list(ConsentDefaultRule.objects.all())
    purpose = Purpose.objects.select_related("parent").get(pk=purpose.pk)
    withdrawn, after = [], 0
    while True:
        batch = _clients_without_state(purpose=purpose, after=after)
        if not batch:
            return withdrawn
        after = batch[-1][0]
        withdrawn += _defaults_append(purpose=purpose, batch=batch, rules=rules, version=version, now=now)


def _clients_without_state(*, purpose: Purpose, after: int) -> list[tuple]:
    return list(Client.objects.filter(erased_at__isnull=True, pk__gt=after)
                .exclude(pk__in=ConsentState.objects.filter(purpose=purpose).values("client_id"))
                .order_by("pk").values_list("pk", "public_id", "jurisdiction")[:RECIPIENT_DEFAULTS_BATCH])


def _locked_heads(client_ids: list[int]) -> dict[int, tuple[int, str]]:
    ConsentChain.objects.bulk_create([ConsentChain(client_id=i) for i in client_ids], ignore_conflicts=True)
    if connection.vendor != "postgresql":
        return {c: (n, h) for c, n, h in ConsentChain.objects.filter(client_id__in=client_ids, client__erased_at__isnull=True)
                .values_list("client_id", "length", "head_hash")}
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_CLIENTS_SQL, [client_ids])
        alive = [row[0] for row in cursor.fetchall()]
        cursor.execute(_LOCK_CHAINS_SQL, [alive])
        return {c: (n, h) for c, n, h in cursor.fetchall()}


def _defaults_append(*, purpose: Purpose, batch: list[tuple], rules, version, now) -> list[int]:
    heads = _locked_heads([row[0] for row in batch])
    # Looked at again under the locks: a second run at the same moment has given some of them a state meanwhile.
    done = set(ConsentState.objects.filter(purpose=purpose, client_id__in=list(heads)).values_list("client_id", flat=True))
    rows = [row for row in batch if row[0] in heads and row[0] not in done]
    # The parent's state read again under the chain locks: a withdrawal of the parent that committed since the batch
    # was chosen must not be answered by a granted default (its own cascade could not see this child yet).
    parent_granted = set(ConsentState.objects.filter(purpose_id=purpose.parent_id, client_id__in=list(heads), granted=True)
                         .values_list("client_id", flat=True)) if purpose.parent_id else set()
    label = version.label if version else ""
    event_ids, state_ids = iter(ids_reserve(ConsentEvent, len(rows))), iter(ids_reserve(ConsentState, len(rows)))
    events, personal, states, moved, withdrawn = [], [], [], [], []
    for client_id, public_id, jurisdiction in rows:
        granted = default_granted(purpose=purpose, jurisdiction=jurisdiction, rules=rules,
                                  parent_granted=client_id in parent_granted)
        action = ConsentAction.GRANT if granted else ConsentAction.WITHDRAW
        length, head = heads[client_id]
        salt, receipt_id, event_id, sequence = ledger.new_salt(), uuid.uuid4(), next(event_ids), length + 1
        digest = ledger.personal_digest(salt=salt, ip_address=None, user_agent="", reason="", evidence_reference="",
                                        evidence_received_on=None, evidence_sha256="")
        previous = head or ledger.GENESIS_HASH
        entry = ledger.entry_hash(
            client_public_id=public_id, sequence=sequence, receipt_id=receipt_id, purpose_code=purpose.code,
            action=action, channel=Channel.SIGNUP, policy_label=label, occurred_at=now, recorded_at=now,
            recorded_by_id=None, personal_digest=digest, previous_hash=previous)
        events.append((event_id, receipt_id, client_id, sequence, purpose.pk, action, Channel.SIGNUP,
                       version.pk if version else None, now, now, None, None, digest, previous, entry))
        personal.append((event_id, salt, None, "", "", "", None, "", ""))
        states.append((next(state_ids), client_id, purpose.pk, granted, event_id, now))
        moved.append((client_id, sequence, entry))
        if not granted:
            withdrawn.append(client_id)
    rows_insert(ConsentEvent, EVENT_FIELDS, events)
    rows_insert(ConsentEventPersonalData, PERSONAL_FIELDS, personal)
    rows_insert(ConsentState, STATE_FIELDS, states)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_MOVE_CHAINS_SQL, [[m[0] for m in moved], [m[1] for m in moved], [m[2] for m in moved]])
    else:
        for client_id, length, head in moved:
            ConsentChain.objects.filter(client_id=client_id).update(length=length, head_hash=head)
    return withdrawn
