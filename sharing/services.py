"""Writes for sharing: keys, agreements, the sharing records every disclosure leaves, and withdrawal notices."""

import uuid
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.bulk import ids_reserve, rows_insert
from consent.impact_hooks import impact_assessment_require
from consent.models import ConsentEvent, DataCategory, Purpose

from .keys import key_generate
from .models import Affiliate, ApiKey, SharingAgreement, SharingRecord, WithdrawalNotice

LAST_USED_RESOLUTION = timedelta(minutes=1)


@transaction.atomic
def affiliate_key_create(*, affiliate: Affiliate, name: str = "", expires_at: datetime | None = None,
                         created_by=None) -> tuple[ApiKey, str]:
    """A new key for `affiliate`. Returns (row, key); the key itself is never stored and cannot be shown again."""
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


def _validate_fields(fields: list[str]) -> None:
    unknown = set(fields) - set(DataCategory.values)
    if unknown or not fields:
        raise ValidationError(_("Fields must be chosen from: %(allowed)s.") % {"allowed": ", ".join(DataCategory.values)})


@transaction.atomic
def affiliate_save(*, affiliate: Affiliate) -> Affiliate:
    """Create or change an affiliate. Setting it inactive makes the API refuse its keys from the next request."""
    # PIPL Art. 55: turning a recipient back on resumes giving it data, so an approved, current impact assessment must
    # cover it (consent/impact_hooks.py). A new recipient receives nothing before its first agreement, checked below.
    if affiliate.active and affiliate.pk and Affiliate.objects.filter(pk=affiliate.pk, active=False).exists():
        impact_assessment_require(recipient=affiliate)
    affiliate.full_clean()
    affiliate.save()
    return affiliate


@transaction.atomic
def agreement_create(*, affiliate: Affiliate, purpose: Purpose, fields: list[str], valid_from: datetime,
                     valid_until: datetime | None = None, reference: str = "") -> SharingAgreement:
    """An agreement can only cover the data the privacy policy names for the purpose."""
    _validate_fields(fields)
    beyond = sorted(set(fields) - set(purpose.data_categories))
    if beyond:
        raise ValidationError(_("The privacy policy does not let “%(purpose)s” share: %(fields)s.")
                              % {"purpose": purpose.title, "fields": ", ".join(beyond)})
    if valid_until is not None and valid_until <= valid_from:
        raise ValidationError(_("An agreement must end after it starts."))
    # PIPL Art. 55: giving data to a recipient (and for a sensitive, automated or abroad purpose) starts only with an
    # approved, current impact assessment covering it (consent/impact_hooks.py).
    impact_assessment_require(purpose=purpose, recipient=affiliate)
    return SharingAgreement.objects.create(affiliate=affiliate, purpose=purpose, fields=sorted(set(fields)),
                                           valid_from=valid_from, valid_until=valid_until, reference=reference)


@transaction.atomic
def agreement_end(*, agreement: SharingAgreement, at: datetime | None = None) -> int:
    """End an agreement: every client the affiliate holds data about for that purpose must be deleted there."""
    at = at or timezone.now()
    SharingAgreement.objects.filter(pk=agreement.pk).update(valid_until=at)
    return _notices_for_holders(affiliate_ids=[agreement.affiliate_id], purpose_id=agreement.purpose_id,
                                client_ids=None, reason=WithdrawalNotice.Reason.AGREEMENT_ENDED, at=at)


def _notices_for_holders(*, affiliate_ids, purpose_id: int, client_ids, reason: str, at: datetime) -> int:
    holders = SharingRecord.objects.filter(purpose_id=purpose_id, affiliate_id__in=affiliate_ids)
    if client_ids is not None:
        holders = holders.filter(client_id__in=client_ids)
    pairs = list(holders.values_list("affiliate_id", "client_id").distinct())
    WithdrawalNotice.objects.bulk_create([
        WithdrawalNotice(affiliate_id=a, client_id=c, purpose_id=purpose_id, reason=reason, occurred_at=at)
        for a, c in pairs
    ])
    return len(pairs)


def withdrawal_notices_for_consent_event(*, event: ConsentEvent) -> int:
    """A withdrawal reaches every affiliate that ever received this client's data for this purpose.

    On PostgreSQL one statement (every consent withdrawal runs it, in the ledger write's transaction)."""
    reason = WithdrawalNotice.Reason.GPC if event.channel == "gpc" else WithdrawalNotice.Reason.CONSENT_WITHDRAWN
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO sharing_withdrawalnotice (public_id, affiliate_id, client_id, purpose_id, reason, fields, "
                "occurred_at) SELECT gen_random_uuid(), affiliate_id, %(client)s, %(purpose)s, %(reason)s, '[]', %(at)s "
                "FROM (SELECT DISTINCT affiliate_id FROM sharing_sharingrecord WHERE client_id = %(client)s "
                "AND purpose_id = %(purpose)s AND affiliate_id IS NOT NULL ORDER BY affiliate_id) AS holders",
                {"client": event.client_id, "purpose": event.purpose_id, "reason": reason, "at": event.recorded_at})
            return cursor.rowcount
    affiliates = SharingRecord.objects.filter(client_id=event.client_id, purpose_id=event.purpose_id,
                                              affiliate__isnull=False).values_list("affiliate_id", flat=True).distinct()
    return _notices_for_holders(affiliate_ids=list(affiliates), purpose_id=event.purpose_id, client_ids=[event.client_id],
                                reason=reason, at=event.recorded_at)


def rectified_notices_create(*, client, categories: set[str], at) -> int:
    """A `rectified` notice for every affiliate that received one of `categories` about `client`, per purpose it
    received them for, naming which of the fields it holds were corrected. Returns how many notices."""
    held: dict[tuple[int, int], set[str]] = {}
    received = (SharingRecord.objects.filter(client=client, affiliate__isnull=False)
                .values_list("affiliate_id", "purpose_id", "fields").distinct())
    for affiliate_id, purpose_id, fields in received:
        held.setdefault((affiliate_id, purpose_id), set()).update(fields or [])
    notices = [
        WithdrawalNotice(affiliate_id=affiliate_id, client=client, purpose_id=purpose_id,
                         reason=WithdrawalNotice.Reason.RECTIFIED, occurred_at=at,
                         fields=[c for c in DataCategory.values if c in fields and c in categories])
        for (affiliate_id, purpose_id), fields in sorted(held.items()) if fields & categories
    ]
    WithdrawalNotice.objects.bulk_create(notices)
    return len(notices)


def withdrawal_notices_for_erasure(*, client, at: datetime) -> int:
    """Every affiliate that ever received the client, for each purpose it received them for, sees the erasure in
    its withdrawal feed and must delete its copy (GDPR Art. 17(2), 19)."""
    pairs = (SharingRecord.objects.filter(client=client, affiliate__isnull=False)
             .values_list("purpose_id", "affiliate_id").distinct())
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
                         "shared_at", "api_key", "request_id"]


def sharing_records_write(*, affiliate: Affiliate, purpose: Purpose, fields: list[str], client_ids: list[int],
                          api_key: ApiKey | None, request_id: uuid.UUID, at: datetime) -> None:
    """One record per client in a response, in the caller's transaction: if this fails, nothing is sent."""
    sharing_records_write_to_recipient(recipient_name=affiliate.name, recipient_country=affiliate.country, purpose=purpose,
                                       fields=fields, client_ids=client_ids, request_id=request_id, at=at,
                                       affiliate=affiliate, api_key=api_key)


def sharing_records_write_to_recipient(*, recipient_name: str, recipient_country: str, purpose: Purpose, fields: list[str],
                                       client_ids: list[int], request_id: uuid.UUID, at: datetime,
                                       affiliate: Affiliate | None = None, api_key: ApiKey | None = None,
                                       withheld_until: date | None = None) -> None:
    """The same for any recipient (an affiliate, or an authority a disclosure went to, perhaps withheld until a date)."""
    ids = ids_reserve(SharingRecord, len(client_ids))
    rows_insert(SharingRecord, [*SHARING_RECORD_FIELDS, "withheld_until"], [
        (record_id, client_id, affiliate.pk if affiliate else None, recipient_name, recipient_country, purpose.pk,
         fields, at, api_key.pk if api_key else None, request_id, withheld_until)
        for record_id, client_id in zip(ids, client_ids, strict=True)
    ])
