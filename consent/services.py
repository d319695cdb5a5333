"""Every change of consent goes through `consent_record`: one ledger event, its chain link and the new state,
in one transaction. Views, admin, imports, the GPC middleware and commands call these functions only."""

from dataclasses import dataclass
from datetime import date, datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.db.models.signals import post_save
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.db import prepared_cursor
from accounts.jurisdictions import Jurisdiction
from accounts.minors import AgeCheck, signup_age_check
from accounts.models import Client, IPObservation, User
from accounts.services import ip_observation_record
from amendments.models import PolicyVersion
from amendments.selectors import POLICY_IN_FORCE_SQL, policy_in_force

from . import ledger
from .impact_hooks import impact_assessment_require
from .log_hooks import consent_log
from .models import (
    AGE_CONFIRMATION,
    GUARDIAN_CONSENT,
    NOT_A_CHOICE,
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
from .offers import offered_to

# Channels through which staff record what a client said elsewhere: evidence is worth keeping even when the
# state does not change (a second letter saying the same thing is still a letter received).
STAFF_CHANNELS = {Channel.EMAIL, Channel.LETTER, Channel.STAFF, Channel.IMPORT}


@dataclass(frozen=True)
class Evidence:
    reference: str = ""
    received_on: date | None = None
    file: object = None


def _locked_chain(client: Client) -> ConsentChain:
    ConsentChain.objects.bulk_create([ConsentChain(client=client)], ignore_conflicts=True)
    return ConsentChain.objects.select_for_update().get(client=client)


@dataclass
class _Head:
    """What a write needs of the client's chain (or the ConsentChain row itself): its length and last hash."""
    length: int
    head_hash: str


@dataclass(frozen=True)
class _State:
    granted: bool
    last_event_id: int


# PostgreSQL, one round trip: key-share the client row, lock the chain, then the state of (client, purpose) -- in that
# order, as everywhere (each MATERIALIZED CTE is scanned before what refers to it), so a withdrawal waiting for a
# sharing page's share lock on the state already holds the chain -- and read the policy in force at `at` on the way.
# The client row's lock is the one the event's foreign key takes anyway, taken first: an erasure holding the row makes
# the write wait, and the row then read is the erased one (a locked row is re-read after the wait), so the write is
# refused rather than leaving personal values beside an event after the erasure deleted them.
_LOCK_SQL = f"""
WITH owner AS MATERIALIZED (
    SELECT id, erased_at FROM accounts_client WHERE id = %(client)s FOR KEY SHARE
), chain AS MATERIALIZED (
    SELECT client_id, length, head_hash FROM consent_consentchain WHERE client_id = (SELECT id FROM owner) FOR UPDATE
)
SELECT chain.length, encode(chain.head_hash, 'hex'), state.granted, state.last_event_id, policy.id, policy.label, policy.until,
    owner.erased_at
FROM chain
JOIN owner ON owner.id = chain.client_id
LEFT JOIN LATERAL (
    SELECT s.granted, s.last_event_id FROM consent_consentstate s
    WHERE s.client_id = chain.client_id AND s.purpose_id = %(purpose)s FOR UPDATE
) AS state ON true
CROSS JOIN ({POLICY_IN_FORCE_SQL}) AS policy
"""  # nosec B608  # the only text spliced in is the constant POLICY_IN_FORCE_SQL; values are parameters
_STATE_SQL = ("SELECT granted, last_event_id FROM consent_consentstate WHERE client_id = %s AND purpose_id = %s "
              "FOR UPDATE")


def _lock(*, client: Client, purpose: Purpose, at: datetime) -> tuple[_Head, _State | None, tuple | None]:
    """Lock the client's chain, then its state for `purpose`. Returns (head, state, (id, label, until) of the policy
    in force at `at`, or None where the ORM is used: the caller then asks `policy_in_force`)."""
    if connection.vendor != "postgresql":
        chain = _locked_chain(client)
        state = ConsentState.objects.select_for_update().filter(client=client, purpose=purpose).first()
        return chain, state and _State(state.granted, state.last_event_id), None
    with prepared_cursor() as cursor:
        cursor.execute(_LOCK_SQL, {"client": client.pk, "purpose": purpose.pk, "at": at})
        row = cursor.fetchone()
        if row is None:  # no chain row yet: make it (a concurrent maker wins, we wait for it) and lock again
            ConsentChain.objects.bulk_create([ConsentChain(client=client)], ignore_conflicts=True)
            cursor.execute(_LOCK_SQL, {"client": client.pk, "purpose": purpose.pk, "at": at})
            row = cursor.fetchone()
        length, head_hash, granted, last_event_id, *policy, erased_at = row
        if erased_at is not None:
            raise ValidationError(_("This client's data has already been erased."))
        if last_event_id is None:
            # That statement saw the states as of its start: a first state for this purpose committed while it
            # waited for the chain is invisible to it. Look again, now that the chain is ours.
            cursor.execute(_STATE_SQL, [client.pk, purpose.pk])
            granted, last_event_id = cursor.fetchone() or (None, None)
    return _Head(length, head_hash), None if last_event_id is None else _State(granted, last_event_id), tuple(policy)


def _policy_at(policy: tuple | None, *, now: datetime) -> PolicyVersion | None:
    """The policy in force at `now`, from what `_lock` read, or asked again if a version took effect meanwhile."""
    if policy is None or (policy[2] is not None and policy[2] <= now):
        return policy_in_force(at=now)
    if policy[0] is None:
        return None
    return PolicyVersion.from_db(connection.alias, ["id", "label"], policy[:2])  # other fields load on first use


def _validate_change(*, purpose: Purpose, action: str, channel: str) -> None:
    if action not in ConsentAction.values:
        raise ValidationError(_("Unknown consent action “%(action)s”.") % {"action": action})
    if channel not in Channel.values:
        raise ValidationError(_("Unknown channel “%(channel)s”.") % {"channel": channel})
    if purpose.legal_basis != LegalBasis.CONSENT:
        raise ValidationError(
            _("“%(purpose)s” does not rest on consent (legal basis: %(basis)s), so there is no consent to give or withdraw.")
            % {"purpose": purpose.title, "basis": purpose.get_legal_basis_display()}
        )
    if action == ConsentAction.WITHDRAW and not purpose.withdrawable:
        raise ValidationError(_("“%(purpose)s” cannot be withdrawn.") % {"purpose": purpose.title})


# PostgreSQL, one round trip: the event, its personal values (unless a file must go through the storage), the new
# state and the chain head, in one statement.
_WRITE_SQL = """
WITH event AS (
    INSERT INTO consent_consentevent (receipt_id, client_id, sequence, purpose_id, action, channel, policy_version_id,
        occurred_at, recorded_at, recorded_by_id, idempotency_key, personal_digest, previous_hash, entry_hash)
    VALUES (%(receipt_id)s, %(client)s, %(sequence)s, %(purpose)s, %(action)s, %(channel)s, %(policy_version)s,
        %(occurred_at)s, %(recorded_at)s, %(recorded_by)s, %(idempotency_key)s, %(personal_digest)s, %(previous_hash)s,
        %(entry_hash)s)
    RETURNING id
), {personal}state AS (
    INSERT INTO consent_consentstate (client_id, purpose_id, granted, last_event_id, changed_at)
    VALUES (%(client)s, %(purpose)s, %(granted)s, (SELECT id FROM event), %(occurred_at)s)
    ON CONFLICT (client_id, purpose_id) DO UPDATE
    SET granted = EXCLUDED.granted, last_event_id = EXCLUDED.last_event_id, changed_at = EXCLUDED.changed_at
), chain AS (
    UPDATE consent_consentchain SET length = %(sequence)s, head_hash = %(entry_hash)s WHERE client_id = %(client)s
)
SELECT id FROM event
"""
_PERSONAL_SQL = """personal AS (
    INSERT INTO consent_consenteventpersonaldata (event_id, salt, ip_address, user_agent, reason, evidence_reference,
        evidence_received_on, evidence_file, evidence_sha256)
    VALUES ((SELECT id FROM event), %(salt)s, %(ip_address)s, %(user_agent)s, %(reason)s, %(evidence_reference)s,
        %(evidence_received_on)s, '', %(evidence_sha256)s)
), """
_WRITE_WITH_PERSONAL_SQL = _WRITE_SQL.format(personal=_PERSONAL_SQL)
_WRITE_WITHOUT_PERSONAL_SQL = _WRITE_SQL.format(personal="")


def _append(*, client: Client, chain, purpose: Purpose, action: str, channel: str, occurred_at: datetime,
            recorded_at: datetime, policy_version: PolicyVersion | None, recorded_by: User | None, ip_address: str | None,
            user_agent: str, reason: str, evidence: Evidence, idempotency_key: str | None) -> ConsentEvent:
    """Append one event to the locked `chain` (a ConsentChain or _Head: length and head_hash, moved on here), with its
    personal values and the new state. Sends post_save for the event, as saving it through the ORM would."""
    salt = ledger.new_salt()
    evidence_sha256 = ledger.file_sha256(evidence.file)
    digest = ledger.personal_digest(salt=salt, ip_address=ip_address, user_agent=user_agent, reason=reason,
                                    evidence_reference=evidence.reference, evidence_received_on=evidence.received_on,
                                    evidence_sha256=evidence_sha256)
    event = ConsentEvent(client=client, sequence=chain.length + 1, purpose=purpose, action=action, channel=channel,
                         policy_version=policy_version, occurred_at=occurred_at, recorded_at=recorded_at,
                         recorded_by=recorded_by, idempotency_key=idempotency_key, personal_digest=digest,
                         previous_hash=chain.head_hash or ledger.GENESIS_HASH)
    event.entry_hash = ledger.entry_hash(
        client_public_id=client.public_id, sequence=event.sequence, receipt_id=event.receipt_id, purpose_code=purpose.code,
        action=action, channel=channel, policy_label=policy_version.label if policy_version else "",
        occurred_at=occurred_at, recorded_at=recorded_at, recorded_by_id=recorded_by.pk if recorded_by else None,
        personal_digest=digest, previous_hash=event.previous_hash,
    )
    personal = dict(salt=salt, ip_address=ip_address, user_agent=user_agent[:400], reason=reason,
                    evidence_reference=evidence.reference, evidence_received_on=evidence.received_on,
                    evidence_sha256=evidence_sha256)
    if connection.vendor == "postgresql":
        with prepared_cursor() as cursor:
            cursor.execute(_WRITE_WITHOUT_PERSONAL_SQL if evidence.file else _WRITE_WITH_PERSONAL_SQL, {
                "receipt_id": event.receipt_id, "client": client.pk, "sequence": event.sequence, "purpose": purpose.pk,
                "action": action, "channel": channel, "policy_version": policy_version.pk if policy_version else None,
                "occurred_at": occurred_at, "recorded_at": recorded_at, "recorded_by": recorded_by.pk if recorded_by else None,
                "idempotency_key": idempotency_key, "personal_digest": bytes.fromhex(digest),  # bytea: consent/fields.py
                "previous_hash": bytes.fromhex(event.previous_hash), "entry_hash": bytes.fromhex(event.entry_hash),
                "granted": action == ConsentAction.GRANT, **personal,
            })
            event.pk = cursor.fetchone()[0]
        event._state.adding, event._state.db = False, connection.alias
        if evidence.file:
            ConsentEventPersonalData.objects.create(event=event, evidence_file=evidence.file, **personal)
        else:
            row = ConsentEventPersonalData(event=event, evidence_file="", **personal)
            row._state.adding, row._state.db = False, connection.alias
        post_save.send(sender=ConsentEvent, instance=event, created=True, update_fields=None, raw=False,
                       using=connection.alias)
    else:
        event.save()
        ConsentEventPersonalData.objects.create(event=event, evidence_file=evidence.file or "", **personal)
        ConsentState.objects.update_or_create(
            client=client, purpose=purpose,
            defaults={"granted": action == ConsentAction.GRANT, "last_event": event, "changed_at": occurred_at},
        )
        ConsentChain.objects.filter(client=client).update(length=event.sequence, head_hash=event.entry_hash)
    chain.length, chain.head_hash = event.sequence, event.entry_hash
    return event


@transaction.atomic
def consent_record(*, client: Client, purpose: Purpose, action: str, channel: str, occurred_at: datetime | None = None,
                   recorded_by: User | None = None, ip_address: str | None = None, user_agent: str = "",
                   reason: str = "", evidence: Evidence | None = None, idempotency_key: str | None = None,
                   policy_version: PolicyVersion | None = None) -> tuple[ConsentEvent, bool]:
    """Record that `client` gave or withdrew consent to `purpose`. Returns (event, created).

    GDPR Art. 7(1) and PIPL Art. 14: the event proves who, what, when, how, under which policy version, from
    where, recorded by whom. A repeat of the current state from the portal or a GPC signal records nothing new
    (double clicks and every-request signals); from staff channels it is kept as evidence. The same
    `idempotency_key` twice (a CSV imported again) returns the first event.
    """
    _validate_change(purpose=purpose, action=action, channel=channel)
    if recorded_by is not None and not recorded_by.is_staff:
        raise ValidationError(_("Only staff record consent on a client's behalf."))
    # From here on this client's writes are serialised. The state is locked too: a sharing response reading this
    # client holds a share lock on it, so a withdrawal waits until that response's records are committed and then
    # sees them (and tells them).
    head, state, policy = _lock(client=client, purpose=purpose, at=timezone.now())
    if idempotency_key:
        existing = ConsentEvent.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing, False
    # Withdrawing a purpose with named recipients withdraws every recipient still granted (GDPR Art. 7(3): one click
    # takes back what was given one recipient at a time); their states are locked after the parent's, as everywhere.
    children = _granted_children(client=client, purpose=purpose) if action == ConsentAction.WITHDRAW else []
    # An answer about another policy version than the last event's (accepting 3.0 after accepting 2.0) is new.
    if (channel not in STAFF_CHANNELS and state is not None and state.granted == (action == ConsentAction.GRANT)
            and not children):
        last_event = ConsentEvent.objects.get(pk=state.last_event_id)
        if policy_version is None or last_event.policy_version_id == policy_version.pk:
            return last_event, False
    now = timezone.now()
    try:
        event = _append(
            client=client, chain=head, purpose=purpose, action=action, channel=channel, occurred_at=occurred_at or now,
            recorded_at=now, policy_version=policy_version or _policy_at(policy, now=now), recorded_by=recorded_by,
            ip_address=ip_address, user_agent=user_agent or "", reason=reason or "", evidence=evidence or Evidence(),
            idempotency_key=idempotency_key,
        )
        for child in children:  # each recipient's withdrawal is an event of its own, proven like the parent's
            _append(client=client, chain=head, purpose=child, action=action, channel=channel, occurred_at=event.occurred_at,
                    recorded_at=now, policy_version=event.policy_version, recorded_by=recorded_by, ip_address=ip_address,
                    user_agent=user_agent or "", reason=reason or "", evidence=Evidence(), idempotency_key=None)
    except IntegrityError as exc:  # only a concurrent import of the same row can get here
        raise ValidationError(_("This change was recorded at the same moment by someone else; reload and check.")) from exc
    if ip_address:
        ip_observation_record(client=client, ip_address=ip_address, context=IPObservation.Context.CONSENT, at=now)
    return event, True


def _granted_children(*, client: Client, purpose: Purpose) -> list[Purpose]:
    """The per-recipient purposes of `purpose` this client has granted, their states locked (none for a child)."""
    if purpose.parent_id is not None:
        return []
    if connection.vendor == "postgresql":  # the same rows and locks without compiling an ORM query on every withdrawal
        with prepared_cursor() as cursor:
            cursor.execute(_GRANTED_CHILDREN_SQL, [client.pk, purpose.pk])
            return [Purpose.from_db(connection.alias, _PURPOSE_COLUMNS, row) for row in cursor.fetchall()]
    states = (ConsentState.objects.select_for_update(of=("self",)).filter(client=client, purpose__parent=purpose, granted=True)
              .select_related("purpose").order_by("purpose_id"))
    return [state.purpose for state in states]


_PURPOSE_COLUMNS = [f.attname for f in Purpose._meta.concrete_fields]
_GRANTED_CHILDREN_SQL = f"""
SELECT {", ".join(f"p.{c}" for c in _PURPOSE_COLUMNS)}
FROM consent_consentstate s JOIN consent_purpose p ON p.id = s.purpose_id
WHERE s.client_id = %s AND p.parent_id = %s AND s.granted
ORDER BY s.purpose_id FOR UPDATE OF s
"""  # nosec B608  # the columns are the model's own field names; values are parameters


def default_granted(*, purpose: Purpose, jurisdiction: str, rules: list[ConsentDefaultRule] | None = None,
                    parent_granted: bool = True) -> bool:
    """Opt-out (True) or opt-in (False) for a consent purpose where the client lives: the most specific rule wins.

    A purpose introduced by a later policy version is never granted by default. A per-recipient purpose (a child)
    follows its own rule, else its parent's, else the jurisdiction's, and only while the client's consent to the
    parent (`parent_granted`) stands: a client who withdrew "all recipients" is not opted in to a new one. It is never
    granted by default where the data goes abroad and the client's jurisdiction asks for separate consent to that
    (settings.TRANSFER_CONSENT_JURISDICTIONS, PIPL Art. 39), nor when it is the separate consent to a transfer abroad
    under a purpose that does not rest on consent.
    """
    parent = purpose.parent if purpose.parent_id else None
    if purpose.introduced_in_id is not None or (parent is not None and parent.introduced_in_id is not None):
        return False
    if parent is not None and (not parent_granted or parent.legal_basis != LegalBasis.CONSENT or (
            purpose.transfer_outside_china and jurisdiction in settings.TRANSFER_CONSENT_JURISDICTIONS)):
        return False
    if rules is None:
        rules = list(ConsentDefaultRule.objects.filter(jurisdiction=jurisdiction))
    mine = [r for r in rules if r.jurisdiction == jurisdiction]
    specific = [r for r in mine if r.purpose_id == purpose.pk]
    inherited = [r for r in mine if parent is not None and r.purpose_id == parent.pk]
    general = [r for r in mine if r.purpose_id is None]
    rule = (specific or inherited or general or [None])[0]
    return bool(rule and rule.granted_by_default)


def consent_purposes_parents_first():
    """The consent purposes a client holds a state for, each parent before its children (defaults depend on it)."""
    return (Purpose.objects.filter(legal_basis=LegalBasis.CONSENT).exclude(code__in=NOT_A_CHOICE)
            .select_related("parent").order_by(F("parent_id").asc(nulls_first=True), "display_order", "code"))


@transaction.atomic
def consent_defaults_record(*, client: Client, occurred_at: datetime | None = None) -> list[ConsentEvent]:
    """Give a new client a state for every consent purpose offered to them, per the rules of their jurisdiction.

    Recorded as `signup` events so that even a default is provable (and shows under which rule and version).
    """
    at = occurred_at or timezone.now()
    version = policy_in_force(at=at)
    rules = list(ConsentDefaultRule.objects.filter(jurisdiction=client.jurisdiction))
    have = set(ConsentState.objects.filter(client=client).values_list("purpose_id", flat=True))
    events = []
    chain = _locked_chain(client)
    granted_now = dict(ConsentState.objects.filter(client=client).values_list("purpose_id", "granted"))
    age_check = signup_age_check()
    minor = age_check is not None and age_check.by_guardian  # a minor's account starts with every purpose off
    # Not the purposes offered only to other clients (offers.py): no sign-up event for a transfer's new purpose.
    for purpose in consent_purposes_parents_first().exclude(pk__in=have).filter(offered_to(client_id=client.pk)):
        granted = not minor and default_granted(purpose=purpose, jurisdiction=client.jurisdiction, rules=rules,
                                                parent_granted=granted_now.get(purpose.parent_id, False))
        granted_now[purpose.pk] = granted
        events.append(_append(
            client=client, chain=chain, purpose=purpose, action=ConsentAction.GRANT if granted else ConsentAction.WITHDRAW,
            channel=Channel.SIGNUP, occurred_at=at, recorded_at=timezone.now(), policy_version=version, recorded_by=None,
            ip_address=None, user_agent="", reason="", evidence=Evidence(), idempotency_key=None,
        ))
    return events


@transaction.atomic
def consent_age_check_record(*, client: Client, age_check: AgeCheck) -> ConsentEvent:
    """The answer to sign-up's age question as ledger evidence (PIPL Art. 31, GDPR Art. 8(2): the controller must be
    able to show the check). Of age: `age-confirmation`, from the client. Younger: `guardian-consent`, naming the
    parent or guardian and how they consented; their name and address are personal values (erased with the client)."""
    ip_address = age_check.ip_address
    if age_check.by_guardian:
        purpose = Purpose.objects.get(code=GUARDIAN_CONSENT)
        # The guardian's address and browser are evidence of their consent, not observations of the client: they go
        # into the reason (erased with the client), and the client's IP observations stay the client's own.
        reason = (f"Consent of the parent or guardian {age_check.guardian_name} <{age_check.guardian_email}>, given on the "
                  f"link sent to that address from IP address {ip_address or 'unknown'}; the client said they were "
                  f"younger than {age_check.minimum_age} (rule: {age_check.rule}).")
        ip_address = None
    else:
        purpose = Purpose.objects.get(code=AGE_CONFIRMATION)
        reason = f"The client confirmed at sign-up being {age_check.minimum_age} or older (rule: {age_check.rule})."
    event, _created = consent_record(client=client, purpose=purpose, action=ConsentAction.GRANT, channel=Channel.PORTAL,
                                     ip_address=ip_address, user_agent=age_check.user_agent, reason=reason)
    return event


def consent_gpc_honour(*, client: Client, ip_address: str | None, user_agent: str) -> list[ConsentEvent]:
    """A Global Privacy Control signal (11 CCR 7025) opts the client out of every sale/sharing purpose, once.

    "Once": a purpose the client re-granted in the portal after an earlier GPC opt-out stays as the client chose.
    """
    already = set(ConsentEvent.objects.filter(client=client, channel=Channel.GPC).values_list("purpose_id", flat=True))
    granted = (ConsentState.objects.filter(client=client, granted=True, purpose__opted_out_by_gpc=True)
               .exclude(purpose_id__in=already))
    events = []
    for state in granted.select_related("purpose"):
        event, created = consent_record(client=client, purpose=state.purpose, action=ConsentAction.WITHDRAW,
                                        channel=Channel.GPC, ip_address=ip_address, user_agent=user_agent,
                                        reason="Global Privacy Control signal (Sec-GPC: 1)")
        if created:
            consent_receipt_send(event=event)
            events.append(event)
    return events


def consent_receipt_send(*, event: ConsentEvent):
    """E-mail the receipt of a change the client made, after the transaction commits (one delivery row)."""
    import json

    from notify.models import OutboundMessage
    from notify.services import message_queue

    from .receipts import consent_receipt

    client = event.client
    with translation.override(client.preferred_language):  # the client's language, whoever recorded the change
        state = _("given") if event.action == ConsentAction.GRANT else _("withdrawn")
        body = _(
            "Hello %(name)s,\n\nYour consent to “%(purpose)s” was %(state)s on %(when)s (%(channel)s).\n"
            "The receipt is attached (Kantara Consent Receipt v1.1, JSON). You can change this choice at any time under "
            "“Your choices” in the privacy portal.\n\n%(log_paragraph)s\n\nFulfillmen privacy team"
        ) % {"name": client.full_name, "purpose": event.purpose.title, "state": state,
             "when": timezone.localtime(event.occurred_at).strftime("%Y-%m-%d %H:%M %Z"), "channel": event.get_channel_display(),
             "log_paragraph": consent_log().receipt_email_paragraph()}
        subject = _("Your consent receipt: %(purpose)s %(state)s") % {"purpose": event.purpose.title, "state": state}
    return message_queue(
        channel=OutboundMessage.Channel.EMAIL, kind="consent-receipt", client=client, to=client.email,
        subject=subject, body=body, idempotency_key=f"consent-receipt:{event.receipt_id}",
        attachment=(f"consent-receipt-{event.receipt_id}.json", json.dumps(consent_receipt(event=event), indent=2),
                    "application/json"),
    )


@transaction.atomic
def purpose_save(*, purpose: Purpose, assessed_recipient=None) -> Purpose:
    """Titles and descriptions may change; a purpose's code and legal basis never do (events and hashes name them).

    PIPL Art. 55: becoming sensitive, automated or abroad needs an approved impact assessment (consent/impact_hooks.py)
    of the purpose — or, for a purpose made for one recipient (a per-recipient consent, a business transfer's new
    purpose), `assessed_recipient`: the assessment of that recipient, and of the parent purpose if any, covers it,
    since the purpose exists only to give data to that recipient."""
    stored = Purpose.objects.get(pk=purpose.pk) if purpose.pk else None
    if stored and (stored.code, stored.legal_basis, stored.parent_id) != (purpose.code, purpose.legal_basis, purpose.parent_id):
        raise ValidationError(_("A purpose's code and legal basis cannot change."))
    if purpose.impact_assessment_reasons() - (stored.impact_assessment_reasons() if stored else set()):
        if assessed_recipient is not None:
            impact_assessment_require(purpose=purpose.parent, recipient=assessed_recipient)
        else:
            impact_assessment_require(purpose=purpose)
    purpose.full_clean()
    purpose.save()
    return purpose


@transaction.atomic
def consent_default_rule_save(*, rule: ConsentDefaultRule) -> ConsentDefaultRule:
    """Changing a default never rewrites past events; it applies to clients who arrive from now on."""
    rule.full_clean()
    rule.save()
    return rule


OPT_IN_EVERYWHERE_NOTE = "PIPL Art. 3: all processing happens in China, so PIPL's consent rules reach every client"


@transaction.atomic
def consent_defaults_opt_in_everywhere(*, note: str = OPT_IN_EVERYWHERE_NOTE) -> int:
    """The operator's choice that PIPL reaches every client (Art. 3: the processing happens in China): every
    consent purpose starts withdrawn in every jurisdiction. Only clients who arrive afterwards are affected; no past
    event changes. Returns how many rules changed (0 when run again)."""
    changed = 0
    for jurisdiction in Jurisdiction.values:
        rule = ConsentDefaultRule.objects.select_for_update().filter(jurisdiction=jurisdiction, purpose=None).first()
        if rule is None:
            rule = ConsentDefaultRule(jurisdiction=jurisdiction, purpose=None, granted_by_default=True)
        if rule.granted_by_default or rule.pk is None:
            rule.granted_by_default, rule.note = False, note
            consent_default_rule_save(rule=rule)
            changed += 1
    for rule in ConsentDefaultRule.objects.select_for_update().filter(purpose__isnull=False, granted_by_default=True):
        rule.granted_by_default, rule.note = False, note
        consent_default_rule_save(rule=rule)
        changed += 1
    return changed
