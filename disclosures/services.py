"""The disclosure workflow: received → under review → approved / rejected → disclosed / partially disclosed.

Four eyes: only members of Legal decide, and never the person who recorded the request. A foreign authority asking
for data stored in China needs PRC approval first (PIPL Art. 41, Data Security Law Art. 36). Once disclosed, the
record never changes. Each disclosed client gets a sharing record in the same transaction.
"""

import uuid
from datetime import date

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.jurisdictions import is_abroad, storage_country
from accounts.models import Client, User
from accounts.uploads import document_upload_check
from consent.ledger import file_sha256
from consent.models import DataCategory, Purpose

from .client_notices import disclosure_clients_notify
from .models import Disclosure, DisclosureAuditEntry, DisclosureDocument, DisclosureNote, DisclosureSubject
from .selectors import LEGAL_GROUP
from .signals import disclosure_scope_changed

Status = Disclosure.Status
Basis, RequestType = Disclosure.LegalBasis, Disclosure.RequestType
# The basis a request type implies when staff choose none. Claims (the policy's "to prevent against potential or
# actual claims") are the company's legitimate interest, not a legal obligation (GDPR Art. 6(1)(f), 9(2)(f)).
BASIS_OF_REQUEST_TYPE = {RequestType.CLAIMS: Basis.LEGAL_CLAIMS, RequestType.EMERGENCY: Basis.VITAL_INTERESTS}
# The purpose (consent.Purpose code) the sharing records of a disclosure name, per legal basis.
PURPOSE_OF_BASIS = {Basis.LEGAL_OBLIGATION: "legal-obligation", Basis.LEGAL_CLAIMS: "legal-claims",
                    Basis.VITAL_INTERESTS: "vital-interests"}
TRANSITIONS = {
    Status.RECEIVED: {Status.UNDER_REVIEW},
    Status.UNDER_REVIEW: {Status.APPROVED, Status.REJECTED},
    Status.APPROVED: {Status.DISCLOSED, Status.PARTIALLY_DISCLOSED},
}
MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
OPEN_STATUSES = {Status.RECEIVED, Status.UNDER_REVIEW, Status.APPROVED}
EDITABLE_STATUSES = {Status.RECEIVED, Status.UNDER_REVIEW}


def _categories(values) -> list[str]:
    unknown = set(values) - set(DataCategory.values)
    if unknown or not values:
        raise ValidationError(_("Data categories must be chosen from: %(allowed)s.")
                              % {"allowed": ", ".join(DataCategory.values)})
    return sorted(set(values))


def _check_withholding(withhold_until: date | None, withhold_reference: str) -> None:
    if withhold_until and not withhold_reference.strip():
        raise ValidationError(
            {"withhold_reference": _("A delayed notice needs the reference of the authority's written requirement.")})
    if withhold_reference.strip() and not withhold_until:
        raise ValidationError({"withhold_until": _("Give the date until which the client must not be told.")})


def legal_basis_for(*, request_type: str, chosen: str = "") -> str:
    """The basis staff chose, else the one the request type implies."""
    if chosen:
        if chosen not in Basis.values:
            raise ValidationError({"legal_basis": _("Choose a legal basis from the list.")})
        return chosen
    return BASIS_OF_REQUEST_TYPE.get(request_type, Basis.LEGAL_OBLIGATION)


def _move(disclosure: Disclosure, *, to: str, actor: User, note: str = "") -> Disclosure:
    locked = Disclosure.objects.select_for_update().get(pk=disclosure.pk)
    if to not in TRANSITIONS.get(locked.status, set()):
        raise ValidationError(_("A disclosure that is “%(now)s” cannot become “%(to)s”.")
                              % {"now": locked.get_status_display(), "to": Status(to).label})
    DisclosureAuditEntry.objects.create(disclosure=locked, actor=actor, from_status=locked.status, to_status=to, note=note)
    locked.status = to
    return locked


@transaction.atomic
def disclosure_record(*, recorded_by: User, clients: list[Client], authority_name: str, authority_country: str,
                      authority_kind: str, request_type: str, reference_number: str, received_on: date,
                      categories_requested: list[str], legal_instrument: str = "", response_deadline: date | None = None,
                      withhold_until: date | None = None, withhold_reference: str = "",
                      authority_address: str = "", legal_basis: str = "") -> Disclosure:
    if not recorded_by.is_staff:
        raise PermissionDenied(_("Only staff record disclosures."))
    if not clients:
        raise ValidationError(_("Name at least one client concerned."))
    _check_withholding(withhold_until, withhold_reference)
    disclosure = Disclosure(
        authority_name=authority_name, authority_address=authority_address,
        authority_country=(authority_country or "").upper(), authority_kind=authority_kind,
        request_type=request_type, legal_basis=legal_basis_for(request_type=request_type, chosen=legal_basis),
        reference_number=reference_number, received_on=received_on,
        categories_requested=_categories(categories_requested), legal_instrument=legal_instrument,
        response_deadline=response_deadline, withhold_until=withhold_until, withhold_reference=withhold_reference,
        recorded_by=recorded_by)
    disclosure.full_clean(exclude=["reviewed_by"])
    disclosure.save()
    DisclosureSubject.objects.bulk_create([DisclosureSubject(disclosure=disclosure, client=c) for c in clients])
    DisclosureAuditEntry.objects.create(disclosure=disclosure, actor=recorded_by, to_status=Status.RECEIVED)
    disclosure_scope_changed.send(sender=Disclosure, disclosure=disclosure, actor=recorded_by)
    return disclosure


@transaction.atomic
def disclosure_submit_for_review(*, disclosure: Disclosure, actor: User) -> Disclosure:
    locked = _move(disclosure, to=Status.UNDER_REVIEW, actor=actor)
    locked.save(update_fields=["status"])
    return locked


def foreign_approval_needed(disclosure: Disclosure) -> bool:
    """Data stored in mainland China may go to an authority outside it only with PRC approval (PIPL Art. 41; Data
    Security Law Art. 36). Country codes are compared: an authority in Hong Kong, Macao or Taiwan is outside too."""
    return storage_country() == "CN" and is_abroad(disclosure.authority_country)


def _check_reviewer(disclosure: Disclosure, reviewer: User) -> None:
    if not reviewer.groups.filter(name=LEGAL_GROUP).exists():
        raise PermissionDenied(_("Only members of Legal approve or reject disclosures."))
    if reviewer.pk == disclosure.recorded_by_id:
        raise PermissionDenied(_("The person who recorded a request cannot also decide on it."))


@transaction.atomic
def disclosure_approve(*, disclosure: Disclosure, reviewer: User, reason: str, prc_approval_reference: str = "") -> Disclosure:
    _check_reviewer(disclosure, reviewer)
    if not reason.strip():
        raise ValidationError({"decision_reason": _("Say why the request is approved (the legal basis).")})
    locked = _move(disclosure, to=Status.APPROVED, actor=reviewer, note=reason)
    if foreign_approval_needed(locked) and not prc_approval_reference.strip():
        raise ValidationError({"prc_approval_reference": _(
            "A foreign authority asks for data stored in China: give the reference of the PRC approval "
            "(PIPL Art. 41, Data Security Law Art. 36) before approving.")})
    locked.reviewed_by, locked.decision_reason = reviewer, reason
    locked.prc_approval_obtained = bool(prc_approval_reference.strip())
    locked.prc_approval_reference = prc_approval_reference.strip()
    locked.save(update_fields=["status", "reviewed_by", "decision_reason", "prc_approval_obtained", "prc_approval_reference"])
    return locked


@transaction.atomic
def disclosure_reject(*, disclosure: Disclosure, reviewer: User, reason: str) -> Disclosure:
    _check_reviewer(disclosure, reviewer)
    if not reason.strip():
        raise ValidationError({"decision_reason": _("Say why the request is rejected.")})
    locked = _move(disclosure, to=Status.REJECTED, actor=reviewer, note=reason)
    locked.reviewed_by, locked.decision_reason = reviewer, reason
    locked.save(update_fields=["status", "reviewed_by", "decision_reason"])
    disclosure_scope_changed.send(sender=Disclosure, disclosure=locked, actor=reviewer)
    return locked


@transaction.atomic
def disclosure_mark_disclosed(*, disclosure: Disclosure, actor: User, disclosed: dict[int, list[str]]) -> Disclosure:
    """Record what was handed over, per client (`{client_id: [categories]}`), with a sharing record each."""
    from sharing.services import sharing_records_write_to_recipient

    subjects = {s.client_id: s for s in DisclosureSubject.objects.filter(disclosure=disclosure)}
    if not disclosed or set(disclosed) - set(subjects):
        raise ValidationError(_("Say what was disclosed, and only about the clients this request concerns."))
    requested = set(disclosure.categories_requested)
    partial = set(disclosed) != set(subjects)
    for client_id, categories in disclosed.items():
        categories = _categories(categories)
        if set(categories) - requested:
            raise ValidationError(_("Only requested data categories can be disclosed."))
        partial = partial or set(categories) != requested
        DisclosureSubject.objects.filter(pk=subjects[client_id].pk).update(categories_disclosed=categories)
    locked = _move(disclosure, to=Status.PARTIALLY_DISCLOSED if partial else Status.DISCLOSED, actor=actor)
    locked.disclosed_at = timezone.now()
    locked.save(update_fields=["status", "disclosed_at"])
    purpose = Purpose.objects.get(code=PURPOSE_OF_BASIS[locked.legal_basis])
    request_id = uuid.uuid4()
    for client_id, categories in disclosed.items():
        sharing_records_write_to_recipient(recipient_name=locked.authority_name, recipient_country=locked.authority_country,
                                           purpose=purpose, fields=_categories(categories), client_ids=[client_id],
                                           request_id=request_id, at=locked.disclosed_at,
                                           withheld_until=locked.withhold_until)
    disclosure_scope_changed.send(sender=Disclosure, disclosure=locked, actor=actor)
    disclosure_clients_notify(disclosure=locked)
    return locked


EDITABLE_FIELDS = ["authority_name", "authority_address", "authority_country", "authority_kind", "request_type",
                   "legal_basis", "legal_instrument", "reference_number", "received_on", "response_deadline",
                   "categories_requested", "withhold_until", "withhold_reference"]


@transaction.atomic
def disclosure_update(*, disclosure: Disclosure, actor: User, changes: dict, clients: list[Client] | None = None) -> Disclosure:
    """Correct a request before it is decided; the audit trail names the fields that changed."""
    locked = Disclosure.objects.select_for_update().get(pk=disclosure.pk)
    if locked.status not in EDITABLE_STATUSES:
        raise ValidationError(_("A disclosure that is “%(now)s” cannot be edited; append a note instead.")
                              % {"now": locked.get_status_display()})
    if set(changes) - set(EDITABLE_FIELDS):
        raise ValidationError(_("These fields cannot be edited: %(fields)s.")
                              % {"fields": ", ".join(sorted(set(changes) - set(EDITABLE_FIELDS)))})
    if "legal_basis" in changes:  # empty: follow the (possibly changed) request type
        changes = {**changes, "legal_basis": legal_basis_for(
            request_type=changes.get("request_type", locked.request_type), chosen=changes["legal_basis"])}
    changed = [name for name, value in changes.items() if getattr(locked, name) != value]
    for name in changed:
        setattr(locked, name, changes[name])
    if "categories_requested" in changed:
        locked.categories_requested = _categories(locked.categories_requested)
    locked.authority_country = locked.authority_country.upper()
    _check_withholding(locked.withhold_until, locked.withhold_reference)
    locked.full_clean(exclude=["reviewed_by", "recorded_by"])
    if clients is not None:
        if not clients:
            raise ValidationError(_("Name at least one client concerned."))
        now = set(locked.subjects.values_list("client_id", flat=True))
        wanted = {c.pk for c in clients}
        if now != wanted:
            locked.subjects.exclude(client_id__in=wanted).delete()
            DisclosureSubject.objects.bulk_create([DisclosureSubject(disclosure=locked, client_id=pk) for pk in wanted - now])
            changed.append("clients")
            disclosure_scope_changed.send(sender=Disclosure, disclosure=locked, actor=actor)
    if changed:
        locked.save()
        DisclosureAuditEntry.objects.create(disclosure=locked, actor=actor, from_status=locked.status, to_status=locked.status,
                                            note=_("Edited: %(fields)s") % {"fields": ", ".join(changed)})
    return locked


@transaction.atomic
def disclosure_note_add(*, disclosure: Disclosure, author: User, text: str) -> DisclosureNote:
    """Corrections after the fact are appended, with author and time; the record itself is not touched."""
    if not text.strip():
        raise ValidationError({"text": _("Write the correction or remark.")})
    return DisclosureNote.objects.create(disclosure=disclosure, author=author, text=text.strip())


def client_on_legal_hold(*, client: Client) -> list[Disclosure]:
    """Open disclosures concerning the client: its data is on hold (rights keeps a LegalHold row for each)."""
    return list(Disclosure.objects.filter(subjects__client=client, status__in=OPEN_STATUSES))


@transaction.atomic
def disclosure_document_add(*, disclosure: Disclosure, kind: str, upload, uploaded_by: User) -> DisclosureDocument:
    """Attach the request, our response or another paper (PDF, PNG or JPEG up to 10 MB); documents are only added."""
    if kind not in DisclosureDocument.Kind.values:
        raise ValidationError({"kind": _("Say what the document is.")})
    original_name = str(upload.name)[-255:]
    upload = document_upload_check(upload, max_bytes=MAX_DOCUMENT_BYTES)
    return DisclosureDocument.objects.create(disclosure=disclosure, kind=kind, file=upload, original_name=original_name,
                                             sha256=file_sha256(upload), size=upload.size, uploaded_by=uploaded_by)
