"""Default consent states for many new clients at once (synthetic demo data, migrations of client lists).

The same events `consent_defaults_record` writes one by one, in a few set-based inserts per batch: the
clients are new, so nobody else can be appending to their chains.
"""

import uuid

from django.db import transaction
from django.utils import timezone

from accounts.bulk import ids_reserve, rows_insert
from amendments.selectors import policy_in_force

from . import ledger
from .models import (
    POLICY_ACCEPTANCE,
    Channel,
    ConsentAction,
    ConsentChain,
    ConsentDefaultRule,
    ConsentEvent,
    ConsentEventPersonalData,
    ConsentState,
    LegalBasis,
    Purpose,
)
from .offers import offer_check
from .services import default_granted

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
    purposes = list(Purpose.objects.filter(legal_basis=LegalBasis.CONSENT).exclude(code=POLICY_ACCEPTANCE))
    rules = list(ConsentDefaultRule.objects.all())
    count = len(clients) * len(purposes)
    event_ids, state_ids = iter(ids_reserve(ConsentEvent, count)), iter(ids_reserve(ConsentState, count))
    events, personal, states, chains = [], [], [], []
    offered = offer_check(client_ids=[client.pk for client in clients])  # offers.py: not another client's purpose
    for client in clients:
        previous = ledger.GENESIS_HASH
        mine = [purpose for purpose in purposes if offered(client.pk, purpose.pk)]
        for sequence, purpose in enumerate(mine, start=1):
            action = ConsentAction.GRANT if default_granted(purpose=purpose, jurisdiction=client.jurisdiction, rules=rules) \
                else ConsentAction.WITHDRAW
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
