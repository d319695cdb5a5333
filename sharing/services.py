"""Writes for sharing: keys, agreements, the sharing records every disclosure leaves, and withdrawal notices."""

import uuid
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from accounts.bulk import ids_reserve, rows_insert
from accounts.db import prepared_cursor
from consent.bulk import consent_defaults_for_new_purpose_record
from consent.impact_hooks import impact_assessment_require
from consent.models import ConsentEvent, ConsentState, DataCategory, LegalBasis, Purpose, RecipientClass
from consent.services import purpose_save

from .keys import WMS_KEY_PREFIX, key_generate
from .models import Affiliate, ApiKey, RecipientConsent, SharingAgreement, SharingRecord, WithdrawalNotice, WmsKey
from .notice_hooks import agreement_changed, notices_created

LAST_USED_RESOLUTION = timedelta(minutes=1)


@transaction.atomic
def affiliate_key_create(*, affiliate: Affiliate, name: str = "", expires_at: datetime | None = None,
                         created_by=None) -> tuple[ApiKey, str]:
    """A new key for `affiliate`. Returns (row, key); the key itself is never stored and cannot be shown again.

    A processor never gets one: it receives data only as Fulfillmen sends it (an e-mail, an SMS), never a client feed."""
    if affiliate.kind == Affiliate.Kind.PROCESSOR:
        raise ValidationError(_("A processor receives no client feed, so it gets no API key."))
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError(_("The expiry must be in the future."))
    key, prefix, hashed = key_generate()
    return ApiKey.objects.create(affiliate=affiliate, name=name, prefix=prefix, key_hash=hashed, expires_at=expires_at,
                                 created_by=created_by), key


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Effective on the very next request: authentication reads `revoked_at` every time."""
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    api_key.refresh_from_db()
    return api_key


def api_key_mark_used(*, api_key: ApiKey, at: datetime) -> None:
    """Remember when a key was last used, writing at most once a minute per key."""
    if api_key.last_used_at is None or at - api_key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=at)


def _labels(codes) -> str:
    return ", ".join(str(DataCategory(c).label) for c in codes if c in DataCategory.values)


@transaction.atomic
def wms_key_create(*, name: str) -> tuple[WmsKey, str]:
    """A key for Fulfillmen's warehouse system to record partner engagements. Returns (row, key); shown once."""
    if not name.strip():
        raise ValidationError(_("Name the system the key is for."))
    key, prefix, hashed = key_generate(WMS_KEY_PREFIX)
    return WmsKey.objects.create(name=name.strip()[:100], prefix=prefix, key_hash=hashed), key


@transaction.atomic
def wms_key_revoke(*, wms_key: WmsKey) -> WmsKey:
    WmsKey.objects.filter(pk=wms_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    wms_key.refresh_from_db()
    return wms_key


def wms_key_mark_used(*, wms_key: WmsKey, at: datetime) -> None:
    if wms_key.last_used_at is None or at - wms_key.last_used_at >= LAST_USED_RESOLUTION:
        WmsKey.objects.filter(pk=wms_key.pk).update(last_used_at=at)


def _validate_fields(fields: list[str]) -> None:
    unknown = set(fields) - set(DataCategory.values)
    if unknown or not fields:
        raise ValidationError(_("Fields must be chosen from: %(allowed)s.") % {"allowed": ", ".join(DataCategory.values)})


# The kind of recipient that may hold an agreement for a purpose, by the purpose's recipient class: a drop-shipping
# partner cannot hold a promotional agreement, nor an affiliated company an order-fulfilment one (issue #18).
KIND_FOR_RECIPIENT_CLASS = {
    RecipientClass.AFFILIATES: Affiliate.Kind.AFFILIATED_COMPANY,
    RecipientClass.DROPSHIP_PARTNERS: Affiliate.Kind.DROPSHIP_PARTNER,
    RecipientClass.ACQUIRER: Affiliate.Kind.BUSINESS_TRANSFER,
}
# A processor works for Fulfillmen's own purposes (GDPR Art. 28, PIPL Art. 21): those for which no third party
# receives data. So it never holds an agreement of a purpose that shares with affiliates, partners or an acquirer.
PROCESSOR_RECIPIENT_CLASSES = (RecipientClass.NONE, RecipientClass.AUTHORITIES)


def agreement_kind_error(*, kind: str, purpose: Purpose) -> str | None:
    """Why an affiliate of `kind` may not hold an agreement for `purpose`, or None when it may."""
    if kind == Affiliate.Kind.PROCESSOR:
        if purpose.recipient_class in PROCESSOR_RECIPIENT_CLASSES:
            return None
        return _("A processor only processes data for Fulfillmen's own purposes; “%(purpose)s” gives data to %(class)s.") % {
            "purpose": purpose.title, "class": RecipientClass(purpose.recipient_class).label}
    expected = KIND_FOR_RECIPIENT_CLASS.get(purpose.recipient_class)
    if expected == kind:
        return None
    if expected is None:
        return _("“%(purpose)s” gives data to no company under an agreement (only a processor may work for it).") % {
            "purpose": purpose.title}
    return _("“%(purpose)s” gives data to %(class)s only; this recipient is a %(kind)s.") % {
        "purpose": purpose.title, "class": RecipientClass(purpose.recipient_class).label,
        "kind": Affiliate.Kind(kind).label}


def affiliate_kind_error(*, affiliate: Affiliate, kind: str | None = None) -> str | None:
    """Why `affiliate` may not change to `kind` (default: its own): an agreement not ended the new kind may not hold."""
    kind = kind or affiliate.kind
    if affiliate.pk is None or Affiliate.objects.filter(pk=affiliate.pk, kind=kind).exists():
        return None
    now = timezone.now()
    for agreement in (SharingAgreement.objects.filter(affiliate_id=affiliate.pk).select_related("purpose")
                      .exclude(valid_until__lte=now)):
        error = agreement_kind_error(kind=kind, purpose=agreement.purpose)
        if error:
            return _("End its agreement for “%(purpose)s” before changing its kind: %(error)s") % {
                "purpose": agreement.purpose.title, "error": error}
    return None


@transaction.atomic
def affiliate_save(*, affiliate: Affiliate) -> Affiliate:
    """Create or change an affiliate. Setting it inactive makes the API refuse its keys from the next request.

    A recipient that moves abroad gets, for each purpose it has an agreement for, the consent its clients must give
    it separately (PIPL Art. 39); its per-recipient purposes learn whether it is abroad."""
    # PIPL Art. 55: turning a recipient back on resumes giving it data, so an approved, current impact assessment must
    # cover it (consent/impact_hooks.py). A new recipient receives nothing before its first agreement, checked below.
    if affiliate.active and affiliate.pk and Affiliate.objects.filter(pk=affiliate.pk, active=False).exists():
        impact_assessment_require(recipient=affiliate)
    affiliate.full_clean()
    error = affiliate_kind_error(affiliate=affiliate)
    if error:
        raise ValidationError({"kind": error})
    affiliate.save()
    latest = {}
    for agreement in SharingAgreement.objects.filter(affiliate=affiliate).select_related("purpose").order_by("valid_from"):
        latest[agreement.purpose_id] = agreement
    for agreement in latest.values():
        recipient_consent_ensure(affiliate=affiliate, purpose=agreement.purpose, fields=agreement.fields)
    return affiliate


def _consent_code(*, affiliate: Affiliate, purpose: Purpose) -> str:
    """A per-recipient purpose's code: the parent's, `--`, the recipient's name as a slug. Never changes once made
    (ledger hashes name it), so a renamed recipient keeps its first code."""
    code = f"{purpose.code}--{slugify(affiliate.name) or affiliate.public_id.hex[:12]}"[:100].rstrip("-")
    if Purpose.objects.filter(code=code).exists():
        code = f"{code[:90].rstrip('-')}-{affiliate.public_id.hex[:8]}"
    return code


def _consent_purpose(*, affiliate: Affiliate, purpose: Purpose, fields: list[str]) -> Purpose:
    consent_based = purpose.legal_basis == LegalBasis.CONSENT
    if consent_based:
        titles = (f"{purpose.title_en}: {affiliate.name}", f"{purpose.title_zh_hans}：{affiliate.name}")
        descriptions = (purpose.description_en, purpose.description_zh_hans)
    else:  # the separate consent to a transfer abroad under a purpose resting on contract (PIPL Art. 39)
        titles = (f"Transfer abroad to {affiliate.name} ({purpose.title_en})",
                  f"向境外接收方{affiliate.name}提供（{purpose.title_zh_hans}）")
        descriptions = (TRANSFER_CONSENT_DESCRIPTION_EN, TRANSFER_CONSENT_DESCRIPTION_ZH_HANS)
    return Purpose(
        code=_consent_code(affiliate=affiliate, purpose=purpose), parent=purpose, legal_basis=LegalBasis.CONSENT,
        title_en=titles[0][:120], title_zh_hans=titles[1][:120], description_en=descriptions[0],
        description_zh_hans=descriptions[1], data_categories=sorted(set(fields)), recipient_class=purpose.recipient_class,
        transfer_outside_china=affiliate.abroad, withdrawable=purpose.withdrawable or not consent_based,
        opted_out_by_gpc=consent_based and purpose.opted_out_by_gpc, is_marketing=consent_based and purpose.is_marketing,
        display_order=purpose.display_order)


TRANSFER_CONSENT_DESCRIPTION_EN = (
    "This recipient is outside the country where your data is stored. It receives your data for this purpose only "
    "with your separate consent (PIPL Art. 39); without it, your data is not sent to it.")
TRANSFER_CONSENT_DESCRIPTION_ZH_HANS = (
    "该接收方位于您的数据存储地所在国家或地区之外。仅在取得您的单独同意后（《个人信息保护法》第三十九条），"
    "才会为此用途向其提供您的数据；未经同意，不会向其提供。")


@transaction.atomic
def recipient_consent_ensure(*, affiliate: Affiliate, purpose: Purpose, fields: list[str]) -> RecipientConsent | None:
    """The consent each client gives or refuses to `affiliate` for `purpose` (PIPL Art. 23, 39): for a purpose resting
    on consent, always; for another, when the recipient is abroad. Made once, with every existing client's default
    recorded in the ledger (`consent_defaults_for_new_purpose_record`: opt-in clients start withdrawn, opt-out ones
    follow the default rules), so that a new recipient never silently inherits the consent given to the others.
    A client it starts withdrawn for who already received data (sharing before per-recipient consent) is notified
    to the recipient for deletion. Afterwards only whether the recipient is abroad is kept up to date."""
    link = RecipientConsent.objects.select_related("consent_purpose").filter(affiliate=affiliate, purpose=purpose).first()
    if link is not None:
        child = link.consent_purpose
        if child.transfer_outside_china != affiliate.abroad:
            child.transfer_outside_china = affiliate.abroad
            purpose_save(purpose=child, assessed_recipient=affiliate)
        return link
    if purpose.legal_basis != LegalBasis.CONSENT and not affiliate.abroad:
        return None
    child = purpose_save(purpose=_consent_purpose(affiliate=affiliate, purpose=purpose, fields=fields),
                         assessed_recipient=affiliate)
    link = RecipientConsent.objects.create(affiliate=affiliate, purpose=purpose, consent_purpose=child)
    consent_defaults_for_new_purpose_record(purpose=child)
    refused = ConsentState.objects.filter(purpose=child, granted=False).values("client_id")
    holders = SharingRecord.objects.filter(affiliate=affiliate, purpose=purpose, client_id__in=refused)
    notices_insert([
        WithdrawalNotice(affiliate=affiliate, client_id=client_id, purpose=purpose,
                         reason=WithdrawalNotice.Reason.CONSENT_WITHDRAWN, occurred_at=timezone.now())
        for client_id in holders.values_list("client_id", flat=True).distinct().order_by("client_id")])
    return link


def notices_insert(notices: list[WithdrawalNotice]) -> list[WithdrawalNotice]:
    """Insert withdrawal notices and tell the notice hooks (webhooks) in the same transaction."""
    with transaction.atomic():
        made = WithdrawalNotice.objects.bulk_create(notices)
        notices_created([n.pk for n in made])
    return made


def recipient_consents_sync() -> int:
    """Every agreement's per-recipient consent made (with its defaults), and a default recorded for any client still
    without a state for one (a client who signed up while it was being made). Safe to run again. Returns how many
    per-recipient purposes exist."""
    latest = {}
    for agreement in SharingAgreement.objects.select_related("affiliate", "purpose").order_by("valid_from", "pk"):
        latest[(agreement.affiliate_id, agreement.purpose_id)] = agreement
    for agreement in latest.values():
        recipient_consent_ensure(affiliate=agreement.affiliate, purpose=agreement.purpose, fields=agreement.fields)
    for link in RecipientConsent.objects.select_related("consent_purpose"):
        consent_defaults_for_new_purpose_record(purpose=link.consent_purpose)
    return RecipientConsent.objects.count()


@transaction.atomic
def agreement_create(*, affiliate: Affiliate, purpose: Purpose, fields: list[str], valid_from: datetime,
                     valid_until: datetime | None = None, reference: str = "", tells_grants: bool = False) -> SharingAgreement:
    """An agreement can only cover the data the privacy policy names for the purpose, and only a recipient of the
    kind the purpose names (its recipient class) may hold it."""
    _validate_fields(fields)
    kind_error = agreement_kind_error(kind=affiliate.kind, purpose=purpose)
    if kind_error:
        raise ValidationError(kind_error)
    beyond = sorted(set(fields) - set(purpose.data_categories))
    if beyond:
        raise ValidationError(_("The privacy policy does not let “%(purpose)s” share: %(fields)s.")
                              % {"purpose": purpose.title, "fields": ", ".join(beyond)})
    if valid_until is not None and valid_until <= valid_from:
        raise ValidationError(_("An agreement must end after it starts."))
    link = RecipientConsent.objects.select_related("consent_purpose").filter(affiliate=affiliate, purpose=purpose).first()
    wider = sorted(set(fields) - set(link.consent_purpose.data_categories)) if link else []
    if wider:  # clients consented to this recipient receiving what they were shown, not more
        raise ValidationError(_("Clients consented to %(recipient)s receiving only: %(agreed)s. Sharing %(fields)s "
                                "as well needs their consent again; it cannot be added to this recipient's agreement.") % {
            "recipient": affiliate.name, "agreed": _labels(link.consent_purpose.data_categories), "fields": _labels(wider)})
    # PIPL Art. 55: giving data to a recipient (and for a sensitive, automated or abroad purpose) starts only with an
    # approved, current impact assessment covering it (consent/impact_hooks.py).
    impact_assessment_require(purpose=purpose, recipient=affiliate)
    agreement = SharingAgreement.objects.create(affiliate=affiliate, purpose=purpose, fields=sorted(set(fields)),
                                                valid_from=valid_from, valid_until=valid_until, reference=reference,
                                                tells_grants=tells_grants)
    recipient_consent_ensure(affiliate=affiliate, purpose=purpose, fields=agreement.fields)
    agreement_changed(agreement=agreement, change="created")
    return agreement


@transaction.atomic
def agreement_end(*, agreement: SharingAgreement, at: datetime | None = None) -> int:
    """End an agreement: every client the affiliate holds data about for that purpose must be deleted there."""
    at = at or timezone.now()
    SharingAgreement.objects.filter(pk=agreement.pk).update(valid_until=at)
    agreement.valid_until = at
    agreement_changed(agreement=agreement, change="ended")
    return _notices_for_holders(affiliate_ids=[agreement.affiliate_id], purpose_id=agreement.purpose_id,
                                client_ids=None, reason=WithdrawalNotice.Reason.AGREEMENT_ENDED, at=at)


def _notices_for_holders(*, affiliate_ids, purpose_id: int, client_ids, reason: str, at: datetime) -> int:
    holders = SharingRecord.objects.filter(purpose_id=purpose_id, affiliate_id__in=affiliate_ids).exclude(
        affiliate__kind=Affiliate.Kind.PROCESSOR)  # a processor deletes as its processor agreement says, not by notice
    if client_ids is not None:
        holders = holders.filter(client_id__in=client_ids)
    pairs = list(holders.values_list("affiliate_id", "client_id").distinct())
    notices_insert([
        WithdrawalNotice(affiliate_id=a, client_id=c, purpose_id=purpose_id, reason=reason, occurred_at=at)
        for a, c in pairs
    ])
    return len(pairs)


# The affiliates a withdrawal of consent purpose %(purpose)s reaches, with the purpose their records name: for a
# per-recipient purpose, its one recipient under the parent purpose (records name the purpose of the agreement); for
# any other, every holder that has no per-recipient consent for it (those are told by their own child's withdrawal,
# which withdrawing the parent writes for each recipient still granted).
_HOLDERS_SQL = """
SELECT DISTINCT r.affiliate_id, r.purpose_id FROM sharing_sharingrecord r
LEFT JOIN sharing_recipientconsent rc ON rc.affiliate_id = r.affiliate_id AND rc.purpose_id = r.purpose_id
WHERE r.client_id = %(client)s AND r.affiliate_id IS NOT NULL
  AND ((r.purpose_id = %(purpose)s AND rc.id IS NULL) OR rc.consent_purpose_id = %(purpose)s)
  AND r.affiliate_id NOT IN (SELECT id FROM sharing_affiliate WHERE kind = %(processor)s)
ORDER BY r.affiliate_id
"""


def withdrawal_notices_for_consent_event(*, event: ConsentEvent) -> int:
    """A withdrawal reaches every affiliate that received this client's data under the consent withdrawn: for a
    consent to one recipient, that recipient only.

    On PostgreSQL one statement (every consent withdrawal runs it, in the ledger write's transaction)."""
    reason = WithdrawalNotice.Reason.GPC if event.channel == "gpc" else WithdrawalNotice.Reason.CONSENT_WITHDRAWN
    values = {"client": event.client_id, "purpose": event.purpose_id, "reason": reason, "at": event.recorded_at,
              "processor": Affiliate.Kind.PROCESSOR}  # processors get no notices: their agreement binds them
    with prepared_cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "INSERT INTO sharing_withdrawalnotice (public_id, affiliate_id, client_id, purpose_id, reason, fields, "
                f"occurred_at) SELECT gen_random_uuid(), h.affiliate_id, %(client)s, h.purpose_id, %(reason)s, '[]', %(at)s "
                f"FROM ({_HOLDERS_SQL}) AS h RETURNING id", values)  # nosec B608  # a constant; values are parameters
            ids = [row[0] for row in cursor.fetchall()]
            notices_created(ids)
            return len(ids)
        cursor.execute(_HOLDERS_SQL, values)
        holders = cursor.fetchall()
    notices_insert([
        WithdrawalNotice(affiliate_id=a, client_id=event.client_id, purpose_id=p, reason=reason, occurred_at=event.recorded_at)
        for a, p in holders])
    return len(holders)


def rectified_notices_create(*, client, categories: set[str], at) -> int:
    """A `rectified` notice for every affiliate that received one of `categories` about `client`, per purpose it
    received them for, naming which of the fields it holds were corrected. Returns how many notices."""
    held: dict[tuple[int, int], set[str]] = {}
    received = (SharingRecord.objects.filter(client=client, affiliate__isnull=False)
                .exclude(affiliate__kind=Affiliate.Kind.PROCESSOR)
                .values_list("affiliate_id", "purpose_id", "fields").distinct())
    for affiliate_id, purpose_id, fields in received:
        held.setdefault((affiliate_id, purpose_id), set()).update(fields or [])
    notices = [
        WithdrawalNotice(affiliate_id=affiliate_id, client=client, purpose_id=purpose_id,
                         reason=WithdrawalNotice.Reason.RECTIFIED, occurred_at=at,
                         fields=[c for c in DataCategory.values if c in fields and c in categories])
        for (affiliate_id, purpose_id), fields in sorted(held.items()) if fields & categories
    ]
    notices_insert(notices)
    return len(notices)


def withdrawal_notices_for_erasure(*, client, at: datetime) -> int:
    """Every affiliate that ever received the client, for each purpose it received them for, sees the erasure in
    its withdrawal feed and must delete its copy (GDPR Art. 17(2), 19)."""
    pairs = (SharingRecord.objects.filter(client=client, affiliate__isnull=False)
             .exclude(affiliate__kind=Affiliate.Kind.PROCESSOR).values_list("purpose_id", "affiliate_id").distinct())
    holders: dict[int, list[int]] = {}
    for purpose_id, affiliate_id in pairs:
        holders.setdefault(purpose_id, []).append(affiliate_id)
    return sum(_notices_for_holders(affiliate_ids=affiliates, purpose_id=purpose_id, client_ids=[client.pk],
                                    reason=WithdrawalNotice.Reason.ERASURE, at=at)
               for purpose_id, affiliates in holders.items())


@transaction.atomic
def withdrawals_acknowledge(*, affiliate: Affiliate, notice_ids: list[uuid.UUID], at: datetime) -> int:
    """The affiliate says it deleted these clients' data. Only its own notices; the first acknowledgement counts."""
    return WithdrawalNotice.objects.filter(affiliate=affiliate, public_id__in=notice_ids,
                                           acknowledged_at__isnull=True).update(acknowledged_at=at)


SHARING_RECORD_FIELDS = ["id", "client", "affiliate", "recipient_name", "recipient_country", "purpose", "fields",
                         "shared_at", "api_key", "request_id", "transfer_mechanism"]


def sharing_records_write(*, affiliate: Affiliate, purpose: Purpose, fields: list[str], client_ids: list[int],
                          api_key: ApiKey | None, request_id: uuid.UUID, at: datetime) -> None:
    """One record per client in a response, in the caller's transaction: if this fails, nothing is sent."""
    sharing_records_write_to_recipient(recipient_name=affiliate.name, recipient_country=affiliate.country, purpose=purpose,
                                       fields=fields, client_ids=client_ids, request_id=request_id, at=at,
                                       affiliate=affiliate, api_key=api_key,
                                       transfer_mechanism=affiliate.transfer_mechanism if affiliate.abroad else "")


def sharing_records_write_to_recipient(*, recipient_name: str, recipient_country: str, purpose: Purpose, fields: list[str],
                                       client_ids: list[int], request_id: uuid.UUID, at: datetime,
                                       affiliate: Affiliate | None = None, api_key: ApiKey | None = None,
                                       withheld_until: date | None = None, transfer_mechanism: str = "") -> None:
    """The same for any recipient (an affiliate, or an authority a disclosure went to, perhaps withheld until a date).
    `transfer_mechanism`: what made a transfer abroad lawful (empty when the data did not leave its storage country)."""
    ids = ids_reserve(SharingRecord, len(client_ids))
    rows_insert(SharingRecord, [*SHARING_RECORD_FIELDS, "withheld_until"], [
        (record_id, client_id, affiliate.pk if affiliate else None, recipient_name, recipient_country, purpose.pk,
         fields, at, api_key.pk if api_key else None, request_id, transfer_mechanism, withheld_until)
        for record_id, client_id in zip(ids, client_ids, strict=True)
    ])
