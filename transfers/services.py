"""The business-transfer workflow: draft → announced to clients (four eyes) → handed over.

Four eyes as for disclosures: whoever records a transfer cannot also announce it, and only a member of Privacy
officers or Legal announces; the services refuse it, not only the pages. Announcing computes the clients concerned
and queues their notices by e-mail and SMS in one transaction (`notices.py`); a transfer that gives the data a new
purpose creates a consent purpose nobody has given yet (PIPL Art. 22). Objections are appended, one per client.
Handing over is `handover.py`. Every change of a transfer leaves a TransferAuditEntry in its transaction.
"""

from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_countries import countries

from accounts.jurisdictions import Jurisdiction, is_abroad, storage_location_label
from accounts.models import Client, User
from consent.models import ConsentDefaultRule, DataCategory, LegalBasis, Purpose, RecipientClass
from consent.services import consent_default_rule_save, purpose_save
from sharing.models import Affiliate
from sharing.services import affiliate_save

from .models import BusinessTransfer, TransferAuditEntry, TransferObjection, TransferSubject
from .notices import objection_confirmation_queue, transfer_notices_queue

Status = BusinessTransfer.Status
TRANSFER_GROUPS = ("Privacy officers", "Legal")
EDITABLE_FIELDS = ["kind", "acquirer_name", "acquirer_contact_name", "acquirer_contact_email", "acquirer_address",
                   "acquirer_country", "affiliate", "data_categories", "scope_countries", "scope_jurisdictions",
                   "changes_purpose", "new_purpose_en", "new_purpose_zh_hans", "handover_on", "objection_deadline"]


def works_transfers(user) -> bool:
    return bool(getattr(user, "is_staff", False)) and user.groups.filter(name__in=TRANSFER_GROUPS).exists()


def setting_days(name: str) -> int:
    """A number of days from the settings (TRANSFER_MIN_OBJECTION_DAYS, TRANSFER_HANDOVER_FILE_DAYS); a value that
    is not a whole number of at least one day stops loudly rather than giving clients no time at all."""
    value = getattr(settings, name)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ImproperlyConfigured(f"{name}={value!r}: a whole number of days, at least 1.")
    return value


def earliest_objection_deadline(*, announced_on: date | None = None) -> date:
    """Clients get at least TRANSFER_MIN_OBJECTION_DAYS between the announcement and the last day to object."""
    return (announced_on or timezone.localdate()) + timedelta(days=setting_days("TRANSFER_MIN_OBJECTION_DAYS"))


def _audit(transfer: BusinessTransfer, *, actor: User, to: str, from_status: str = "", note: str = "") -> None:
    TransferAuditEntry.objects.create(transfer=transfer, actor=actor, from_status=from_status, to_status=to, note=note)


def _clean(transfer: BusinessTransfer) -> None:
    """Every rule of a transfer's content, as form errors on the fields concerned."""
    errors = {}
    categories = transfer.data_categories or []
    if not categories or set(categories) - set(DataCategory.values):
        errors["data_categories"] = _("Data categories must be chosen from: %(allowed)s.") % {
            "allowed": ", ".join(DataCategory.values)}
    transfer.data_categories = sorted(set(categories))
    transfer.acquirer_country = (transfer.acquirer_country or "").upper()
    if transfer.acquirer_country not in dict(countries):
        errors["acquirer_country"] = _("Give the acquirer's country as an ISO 3166-1 code, e.g. CN or US.")
    transfer.scope_countries = sorted({(c or "").upper() for c in transfer.scope_countries or []})
    if set(transfer.scope_countries) - set(dict(countries)):
        errors["scope_countries"] = _("Countries must be ISO 3166-1 codes, e.g. DE or CN.")
    transfer.scope_jurisdictions = sorted(set(transfer.scope_jurisdictions or []))
    if set(transfer.scope_jurisdictions) - set(Jurisdiction.values):
        errors["scope_jurisdictions"] = _("Laws must be chosen from: %(allowed)s.") % {
            "allowed": ", ".join(Jurisdiction.values)}
    if transfer.changes_purpose and not (transfer.new_purpose_en.strip() and transfer.new_purpose_zh_hans.strip()):
        errors["new_purpose_en"] = _("Describe the new purpose in English and in Simplified Chinese: clients are "
                                     "asked for their consent to it.")
    if transfer.handover_on and transfer.objection_deadline and transfer.handover_on <= transfer.objection_deadline:
        errors["handover_on"] = _("The handover must come after the objection deadline.")
    if transfer.objection_deadline and transfer.objection_deadline < earliest_objection_deadline():
        errors["objection_deadline"] = _(
            "The objection deadline must be at least %(days)d days after the announcement, so on or after "
            "%(earliest)s if it is announced today: clients need time to object.") % {
            "days": setting_days("TRANSFER_MIN_OBJECTION_DAYS"), "earliest": earliest_objection_deadline().isoformat()}
    if transfer.affiliate_id and transfer.affiliate.kind != Affiliate.Kind.BUSINESS_TRANSFER:
        errors["affiliate"] = _("Choose a recipient of kind “Business-transfer counterparty”, or none.")
    if errors:
        raise ValidationError(errors)
    transfer.full_clean(exclude=["recorded_by", "published_by", "new_purpose"])


@transaction.atomic
def transfer_record(*, recorded_by: User, kind: str, acquirer_name: str, acquirer_contact_name: str,
                    acquirer_contact_email: str, acquirer_address: str, acquirer_country: str, data_categories: list[str],
                    handover_on: date, objection_deadline: date, scope_countries: list[str] = (),
                    scope_jurisdictions: list[str] = (), changes_purpose: bool = False, new_purpose_en: str = "",
                    new_purpose_zh_hans: str = "", affiliate: Affiliate | None = None) -> BusinessTransfer:
    """A draft: nothing is announced, nobody is concerned yet."""
    if not (works_transfers(recorded_by) or getattr(recorded_by, "is_superuser", False)):
        raise PermissionDenied(_("Only privacy officers and Legal record business transfers."))
    transfer = BusinessTransfer(
        kind=kind, acquirer_name=acquirer_name.strip(), acquirer_contact_name=acquirer_contact_name.strip(),
        acquirer_contact_email=acquirer_contact_email.strip(), acquirer_address=acquirer_address.strip(),
        acquirer_country=acquirer_country, affiliate=affiliate, data_categories=list(data_categories),
        scope_countries=list(scope_countries), scope_jurisdictions=list(scope_jurisdictions),
        changes_purpose=changes_purpose, new_purpose_en=new_purpose_en.strip() if changes_purpose else "",
        new_purpose_zh_hans=new_purpose_zh_hans.strip() if changes_purpose else "", handover_on=handover_on,
        objection_deadline=objection_deadline, recorded_by=recorded_by)
    _clean(transfer)
    transfer.save()
    _audit(transfer, actor=recorded_by, to=Status.DRAFT)
    return transfer


@transaction.atomic
def transfer_update(*, transfer: BusinessTransfer, actor: User, changes: dict) -> BusinessTransfer:
    """Correct a draft; once announced, what clients were told never changes."""
    locked = BusinessTransfer.objects.select_for_update().get(pk=transfer.pk)
    if locked.status != Status.DRAFT:
        raise ValidationError(_("An announced transfer cannot be edited: clients were told what it says."))
    if not (works_transfers(actor) or getattr(actor, "is_superuser", False)):
        raise PermissionDenied(_("Only privacy officers and Legal record business transfers."))
    if set(changes) - set(EDITABLE_FIELDS):
        raise ValidationError(_("These fields cannot be edited: %(fields)s.")
                              % {"fields": ", ".join(sorted(set(changes) - set(EDITABLE_FIELDS)))})
    changed = [name for name, value in changes.items() if getattr(locked, name) != value]
    for name in changed:
        setattr(locked, name, changes[name])
    _clean(locked)
    if changed:
        locked.save()
        _audit(locked, actor=actor, from_status=locked.status, to=locked.status,
               note=_("Edited: %(fields)s") % {"fields": ", ".join(changed)})
    return locked


def _check_publisher(transfer: BusinessTransfer, approver: User) -> None:
    if not works_transfers(approver):
        raise PermissionDenied(_("Only members of Privacy officers or Legal announce business transfers."))
    if approver.pk == transfer.recorded_by_id:
        raise PermissionDenied(_("The person who recorded a transfer cannot also announce it."))


def _subjects_insert(transfer: BusinessTransfer, *, at) -> int:
    """The clients concerned, in one INSERT … SELECT: every client not erased, or those living in one of the
    countries or under one of the laws listed."""
    where, params = ["erased_at IS NULL"], [transfer.pk, at]
    scope = []
    if transfer.scope_countries:
        scope.append("country IN (" + ", ".join(["%s"] * len(transfer.scope_countries)) + ")")
        params += transfer.scope_countries
    if transfer.scope_jurisdictions:
        scope.append("jurisdiction IN (" + ", ".join(["%s"] * len(transfer.scope_jurisdictions)) + ")")
        params += transfer.scope_jurisdictions
    if scope:
        where.append("(" + " OR ".join(scope) + ")")
    # Only our models' table names and fixed clauses go into the text; every value is a parameter.
    sql = (f"INSERT INTO {TransferSubject._meta.db_table} (transfer_id, client_id, created_at, handed_over_at) "
           f"SELECT %s, id, %s, NULL FROM {Client._meta.db_table} WHERE {' AND '.join(where)} "
           f"ON CONFLICT (transfer_id, client_id) DO NOTHING")  # nosec B608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _new_purpose_create(transfer: BusinessTransfer) -> Purpose:
    """PIPL Art. 22: an acquirer that changes the purpose must ask again. A consent purpose that starts withdrawn for
    everyone — no ledger event is made for anybody, and a rule per jurisdiction keeps sign-up defaults from granting
    it — so that only clients who give it are handed over."""
    name = transfer.acquirer_name
    # PIPL Art. 55: the new purpose exists only to give data to the acquirer, so the acquirer's approved impact
    # assessment must cover it (consent.services.purpose_save); without one the announcement is refused.
    purpose = purpose_save(assessed_recipient=transfer.affiliate, purpose=Purpose(
        code=f"business-transfer-{transfer.public_id.hex[:12]}", title_en=f"{name}: a new use of your data"[:120],
        title_zh_hans=f"{name}：对您数据的新用途"[:120], description_en=transfer.new_purpose_en,
        description_zh_hans=transfer.new_purpose_zh_hans, legal_basis=LegalBasis.CONSENT,
        data_categories=transfer.data_categories, recipient_class=RecipientClass.ACQUIRER,
        transfer_outside_china=is_abroad(transfer.acquirer_country), withdrawable=True, display_order=90))
    for jurisdiction in Jurisdiction.values:
        consent_default_rule_save(rule=ConsentDefaultRule(
            jurisdiction=jurisdiction, purpose=purpose, granted_by_default=False,
            note="PIPL Art. 22: fresh consent to the acquirer's new purpose"))
    return purpose


def acquirer_affiliate_ensure(*, transfer: BusinessTransfer) -> Affiliate:
    """The acquirer as a recipient of kind business-transfer (the one of that name, or a new one from the transfer's
    fields). The handover's sharing records name it, so the machinery that tells recipients of an erasure, a
    withdrawal or a correction (sharing.WithdrawalNotice) tells the acquirer too (GDPR Art. 17(2), 19)."""
    found = Affiliate.objects.filter(name=transfer.acquirer_name).first()
    if found is not None:
        if found.kind != Affiliate.Kind.BUSINESS_TRANSFER:
            raise ValidationError({"affiliate": _(
                "A recipient named “%(name)s” exists but is not a business-transfer counterparty: choose a recipient "
                "of that kind, or give the acquirer's exact legal name.") % {"name": transfer.acquirer_name}})
        return found
    if is_abroad(transfer.acquirer_country):
        # PIPL Art. 38: a recipient abroad needs its transfer mechanism recorded, which only the recipient's own form
        # takes (Sharing → Affiliates); the announcement waits for it.
        raise ValidationError(_("The acquirer is outside %(storage)s, where the data is stored: record it first as a "
                                "business-transfer recipient with its transfer mechanism and an approved impact "
                                "assessment, then choose it on this transfer.") % {"storage": storage_location_label()})
    return affiliate_save(affiliate=Affiliate(
        name=transfer.acquirer_name, kind=Affiliate.Kind.BUSINESS_TRANSFER, country=transfer.acquirer_country,
        contact_name=transfer.acquirer_contact_name, contact_email=transfer.acquirer_contact_email,
        address=transfer.acquirer_address))


@transaction.atomic
def transfer_publish(*, transfer: BusinessTransfer, approver: User) -> BusinessTransfer:
    """Announce the transfer: the clients concerned, a notice to each by e-mail and SMS, the new purpose if any, the
    acquirer in the recipient catalogue if none was chosen — all in this transaction, so that nobody is concerned
    without being told, and nobody told twice."""
    locked = BusinessTransfer.objects.select_for_update().get(pk=transfer.pk)
    if locked.status != Status.DRAFT:
        raise ValidationError(_("This transfer was already announced; nothing was sent again."))
    _check_publisher(locked, approver)
    _clean(locked)  # among others: the deadline leaves clients TRANSFER_MIN_OBJECTION_DAYS from today
    now = timezone.now()
    if locked.affiliate is None:
        locked.affiliate = acquirer_affiliate_ensure(transfer=locked)
    if locked.changes_purpose:
        locked.new_purpose = _new_purpose_create(locked)
    locked.status, locked.published_by, locked.published_at = Status.PUBLISHED, approver, now
    locked.save(update_fields=["status", "published_by", "published_at", "new_purpose", "affiliate"])
    concerned = _subjects_insert(locked, at=now)
    queued = transfer_notices_queue(transfer=locked)
    _audit(locked, actor=approver, from_status=Status.DRAFT, to=Status.PUBLISHED,
           note=_("%(clients)d clients concerned; %(messages)d e-mails and text messages queued.")
           % {"clients": concerned, "messages": queued})
    return locked


def objection_open(transfer: BusinessTransfer, *, on: date | None = None) -> bool:
    """Objections are taken while the transfer is announced and until its deadline (that day included)."""
    return transfer.status == Status.PUBLISHED and (on or timezone.localdate()) <= transfer.objection_deadline


@transaction.atomic
def transfer_objection_record(*, transfer: BusinessTransfer, client: Client, channel: str,
                              recorded_by: User | None = None, received_on: date | None = None,
                              reference: str = "") -> tuple[TransferObjection, bool]:
    """The client objects: they are left out of the handover. Returns (objection, created); the first one counts.

    From the portal the client objects themselves; one received by e-mail or letter is recorded by staff, with the
    day it arrived, which must be on or before the deadline. Locks the transfer: a handover waits for it."""
    locked = BusinessTransfer.objects.select_for_update().get(pk=transfer.pk)
    if channel not in TransferObjection.Channel.values:
        raise ValidationError({"channel": _("Say how the objection reached us.")})
    if channel == TransferObjection.Channel.PORTAL:
        if recorded_by is not None:
            raise ValidationError({"channel": _("Staff record objections received by e-mail or letter.")})
        received_on = timezone.localdate()
    else:
        if recorded_by is None or not works_transfers(recorded_by):
            raise PermissionDenied(_("Only privacy officers and Legal record an objection received by e-mail or "
                                     "letter."))
        if received_on is None or received_on > timezone.localdate():
            raise ValidationError({"received_on": _("Give the day the objection reached us (not in the future).")})
    if not TransferSubject.objects.filter(transfer=locked, client=client).exists():
        raise ValidationError(_("This transfer does not concern this client."))
    existing = TransferObjection.objects.filter(transfer=locked, client=client).first()
    if existing is not None:
        return existing, False
    if not objection_open(locked, on=received_on):
        raise ValidationError(_("Objections to this transfer closed on %(deadline)s.")
                              % {"deadline": locked.objection_deadline.isoformat()})
    objection = TransferObjection.objects.create(transfer=locked, client=client, channel=channel,
                                                 received_on=received_on, reference=reference.strip()[:100],
                                                 recorded_by=recorded_by)
    objection_confirmation_queue(objection=objection)
    return objection, True
