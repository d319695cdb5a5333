"""The breach register's writes: record, correct (only before a notification; afterwards notes are appended), select
the affected clients, record the notice to the authority, notify the clients (four eyes: one privacy officer
prepares the notice, another approves and sends it) and close. Each change writes its audit row in its transaction.
"""

from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from consent.models import DataCategory

from .client_notices import breach_subjects_notify, subjects_due
from .models import Breach, BreachAuditEntry, BreachNote
from .selection import affected_rows, subjects_write

PRIVACY_GROUP = "Privacy officers"
Action = BreachAuditEntry.Action
EDITABLE_FIELDS = ["title", "discovered_at", "occurred_from", "occurred_until", "categories", "approx_clients",
                   "approx_records", "nature", "nature_zh", "consequences", "consequences_zh", "measures", "measures_zh",
                   "client_advice", "client_advice_zh", "dpo_contact", "authority_name"]
# What the authority was told stays as told; what clients can do may still be completed until they are told.
CLIENT_NOTICE_FIELDS = {"client_advice", "client_advice_zh"}
BOTH_LANGUAGES = ["nature", "nature_zh", "consequences", "consequences_zh", "measures", "measures_zh"]
CLOCK_SKEW = timedelta(minutes=5)


DATETIME_FIELDS = ("discovered_at", "occurred_from", "occurred_until")


def _whole_seconds(fields: dict) -> dict:
    """Times to the second, as the admin's form shows and sends them: an untouched field is no change."""
    return {name: value.replace(microsecond=0) if name in DATETIME_FIELDS and value else value
            for name, value in fields.items()}


def _audit(breach: Breach, actor: User | None, action: str, note: str = "") -> None:
    BreachAuditEntry.objects.create(breach=breach, actor=actor, action=action, note=note)


def _check_officer(actor: User) -> None:
    if not (actor.is_superuser or actor.groups.filter(name=PRIVACY_GROUP).exists()):
        raise PermissionDenied(_("Only privacy officers work breaches."))


def _check(breach: Breach) -> None:
    codes = breach.categories or []
    if not codes or set(codes) - set(DataCategory.values):
        raise ValidationError({"categories": _("Data categories must be chosen from: %(allowed)s.")
                               % {"allowed": ", ".join(DataCategory.values)}})
    breach.categories = sorted(set(codes))
    if breach.discovered_at and breach.discovered_at > timezone.now() + CLOCK_SKEW:
        raise ValidationError({"discovered_at": _("The discovery cannot lie in the future.")})
    if breach.occurred_from and breach.occurred_until and breach.occurred_from > breach.occurred_until:
        raise ValidationError({"occurred_until": _("The end of the breach cannot lie before its start.")})


def _locked(breach: Breach) -> Breach:
    return Breach.objects.select_for_update().get(pk=breach.pk)


def editable_fields(breach: Breach) -> list[str]:
    """Before any notification, everything; after the authority's, only what clients can do; after the clients'
    notice is prepared, nothing (corrections are appended notes)."""
    if breach.notice_requested_at or breach.clients_notified_at or breach.status == Breach.Status.CLOSED:
        return []
    if breach.authority_notified_at:
        return [f for f in EDITABLE_FIELDS if f in CLIENT_NOTICE_FIELDS]
    return list(EDITABLE_FIELDS)


@transaction.atomic
def breach_record(*, recorded_by: User, **fields) -> Breach:
    _check_officer(recorded_by)
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(_("These fields cannot be set: %(fields)s.") % {"fields": ", ".join(sorted(unknown))})
    breach = Breach(recorded_by=recorded_by, **_whole_seconds(fields))
    _check(breach)
    breach.full_clean(exclude=["recorded_by"])
    breach.save()
    _audit(breach, recorded_by, Action.RECORDED)
    return breach


@transaction.atomic
def breach_update(*, breach: Breach, actor: User, changes: dict) -> Breach:
    _check_officer(actor)
    locked = _locked(breach)
    changes = _whole_seconds(changes)
    allowed = editable_fields(locked)
    changed = [name for name, value in changes.items() if getattr(locked, name, None) != value]
    refused = sorted(set(changed) - set(allowed))
    if refused:
        raise ValidationError(_("After a notification these fields no longer change; append a note instead: "
                                "%(fields)s.") % {"fields": ", ".join(refused)})
    for name in changed:
        setattr(locked, name, changes[name])
    _check(locked)
    locked.full_clean(exclude=["recorded_by"])
    if changed:
        locked.save()
        _audit(locked, actor, Action.EDITED, _("Edited: %(fields)s") % {"fields": ", ".join(changed)})
    return locked


@transaction.atomic
def breach_note_add(*, breach: Breach, author: User, text: str) -> BreachNote:
    """What was learnt later (GDPR Art. 33(4)) or a correction: appended with author and time."""
    _check_officer(author)
    if not text.strip():
        raise ValidationError({"text": _("Write the note.")})
    return BreachNote.objects.create(breach=breach, author=author, text=text.strip())


@transaction.atomic
def breach_subjects_select(*, breach: Breach, actor: User, scope: str, since: datetime | None = None,
                           until: datetime | None = None, staff_id: int | None = None, recipient: str = "",
                           client_text: str = "") -> int:
    """Add the clients a scope finds to the breach (see selection.py); returns how many are new to it. Nothing is
    written when the input is wrong."""
    _check_officer(actor)
    locked = _locked(breach)
    if locked.status == Breach.Status.CLOSED:
        raise ValidationError(_("A closed breach takes no more clients."))
    added = subjects_write(breach=locked, rows=affected_rows(
        breach=locked, requester=actor, scope=scope, since=since, until=until, staff_id=staff_id, recipient=recipient,
        client_text=client_text))
    window = f"{since:%Y-%m-%d %H:%M} – {until:%Y-%m-%d %H:%M}" if since and until and scope != "client-list" else ""
    _audit(locked, actor, Action.SELECTED, " ".join(filter(None, [scope, window, recipient.strip()]))
           + " · " + ngettext("%(count)d client added", "%(count)d clients added", added) % {"count": added})
    return added


@transaction.atomic
def breach_authority_notified(*, breach: Breach, actor: User, notified_at: datetime, authority_name: str,
                              reference: str = "", delay_reason: str = "") -> Breach:
    """Record the notice to the supervisory authority (GDPR Art. 33; PIPL Art. 57); a late one says why."""
    _check_officer(actor)
    locked = _locked(breach)
    if locked.authority_notified_at:
        raise ValidationError(_("The authority's notice is already recorded; append a note for what followed."))
    if not authority_name.strip():
        raise ValidationError({"authority_name": _("Name the supervisory authority.")})
    if notified_at > timezone.now() + CLOCK_SKEW or notified_at < locked.discovered_at:
        raise ValidationError({"notified_at": _("The notice lies between the discovery and now.")})
    missing = [f for f in BOTH_LANGUAGES if not getattr(locked, f).strip()]
    if missing:
        raise ValidationError(_("The notice goes out in English and Chinese: first fill in %(fields)s.")
                              % {"fields": ", ".join(str(Breach._meta.get_field(f).verbose_name) for f in missing)})
    if notified_at > locked.deadline and not delay_reason.strip():
        raise ValidationError({"delay_reason": _("More than 72 hours after discovery: give the reasons for the delay "
                                                 "(GDPR Art. 33(1)).")})
    locked.authority_notified_at, locked.authority_name = notified_at, authority_name.strip()
    locked.authority_reference, locked.delay_reason = reference.strip(), delay_reason.strip()
    locked.save(update_fields=["authority_notified_at", "authority_name", "authority_reference", "delay_reason"])
    _audit(locked, actor, Action.AUTHORITY_NOTIFIED, f"{locked.authority_name} {locked.authority_reference}".strip())
    return locked


@transaction.atomic
def breach_notice_request(*, breach: Breach, actor: User) -> Breach:
    """The first pair of eyes: the notice to the clients is ready; the texts no longer change."""
    _check_officer(actor)
    locked = _locked(breach)
    if locked.notice_requested_at:
        raise ValidationError(_("A notice is already waiting for a second privacy officer's approval."))
    if locked.status == Breach.Status.CLOSED:
        raise ValidationError(_("The breach is closed."))
    missing = [f for f in [*BOTH_LANGUAGES, "client_advice", "client_advice_zh", "dpo_contact"] if not getattr(locked, f).strip()]
    if missing:
        raise ValidationError(_("The clients are told in English and Chinese: first fill in %(fields)s.")
                              % {"fields": ", ".join(str(Breach._meta.get_field(f).verbose_name) for f in missing)})
    if not subjects_due(locked).exists():
        raise ValidationError(_("No affected client is waiting for the notice: select the clients first."))
    locked.notice_requested_by, locked.notice_requested_at = actor, timezone.now()
    locked.save(update_fields=["notice_requested_by", "notice_requested_at"])
    _audit(locked, actor, Action.NOTICE_REQUESTED)
    return locked


@transaction.atomic
def breach_notice_send(*, breach: Breach, approver: User) -> int:
    """The second pair of eyes: another privacy officer approves, and every client not yet told is messaged."""
    _check_officer(approver)
    locked = _locked(breach)
    if not locked.notice_requested_at:
        raise ValidationError(_("No notice is waiting for approval: a privacy officer prepares it first."))
    if locked.notice_requested_by_id == approver.pk:
        raise PermissionDenied(_("The privacy officer who prepared the notice cannot also approve it."))
    told = breach_subjects_notify(breach=locked)
    locked.clients_notified_at = locked.clients_notified_at or timezone.now()
    locked.notice_sent_by, locked.notice_requested_by, locked.notice_requested_at = approver, None, None
    locked.save(update_fields=["clients_notified_at", "notice_sent_by", "notice_requested_by", "notice_requested_at"])
    _audit(locked, approver, Action.NOTICE_SENT,
           ngettext("%(count)d client told", "%(count)d clients told", told) % {"count": told})
    return told


@transaction.atomic
def breach_close(*, breach: Breach, actor: User, reason: str) -> Breach:
    """Closed with the reason; one never notified to the authority must say why no notice was needed (Art. 33(5))."""
    _check_officer(actor)
    locked = _locked(breach)
    if locked.status == Breach.Status.CLOSED:
        raise ValidationError(_("The breach is already closed."))
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the breach is closed (and, without a notice to the authority, why "
                                           "none was needed).")})
    locked.status, locked.closed_reason = Breach.Status.CLOSED, reason.strip()
    locked.save(update_fields=["status", "closed_reason"])
    _audit(locked, actor, Action.CLOSED, locked.closed_reason)
    return locked
