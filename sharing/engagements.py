"""Engagements of drop-shipping partners (issue #18): a partner receives a client only while an order of the client
is routed to it, and for ENGAGEMENT_TAIL_DAYS after the last one ended; then it is told to delete its copy.

Engagements come from Fulfillmen's orders/WMS side — the admin, a CSV import (sharing/engagement_imports.py) and the
WMS API (sharing/wms_api.py, with a WMS key, never an affiliate's key) — and all three go through
`engagement_record`, which is idempotent on (partner, order reference).
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Affiliate, PartnerEngagement, SharingRecord, WithdrawalNotice
from .notice_hooks import notices_created

# The feed is closed this long after the tail ended, not at once: a page of the API whose time was taken before the
# tail ended (and whose records are not committed yet) is long finished by then, so its records get their notice.
CLOSE_MARGIN = timedelta(minutes=10)
ORDER_REFERENCE_MAX = 100


class Outcome:
    CREATED = "created"
    ENDED = "ended"
    UNCHANGED = "unchanged"


def engagement_tail() -> timedelta:
    return timedelta(days=settings.ENGAGEMENT_TAIL_DAYS)


def engagement_window_start(*, at: datetime) -> datetime:
    """An engagement that ended after this time still lets its partner receive the client at `at`."""
    return at - engagement_tail()


def engagement_errors(*, affiliate: Affiliate | None, client, order_reference: str, started_at: datetime | None,
                      ended_at: datetime | None, now: datetime | None = None) -> list[str]:
    """What is wrong with an engagement before anything is recorded (the admin form, the CSV preview, the API)."""
    now = now or timezone.now()
    errors = []
    if affiliate is not None and affiliate.kind != Affiliate.Kind.DROPSHIP_PARTNER:
        errors.append(_("“%(name)s” is not a drop-shipping partner; only orders routed to a partner are engagements.")
                      % {"name": affiliate.name})
    elif affiliate is not None and not affiliate.active:
        errors.append(_("The partner “%(name)s” is inactive.") % {"name": affiliate.name})
    if client is not None and client.erased_at:
        errors.append(_("This client's data has already been erased."))
    if not order_reference:
        errors.append(_("missing order reference"))
    elif len(order_reference) > ORDER_REFERENCE_MAX:
        errors.append(_("order reference longer than %(max)s characters") % {"max": ORDER_REFERENCE_MAX})
    if started_at is not None and started_at > now:
        errors.append(_("The order cannot start in the future."))
    if ended_at is not None and ended_at > now:
        errors.append(_("The order cannot end in the future."))
    if started_at is not None and ended_at is not None and ended_at < started_at:
        errors.append(_("The order cannot end before it starts."))
    return errors


def _compare(existing: PartnerEngagement, *, client, started_at: datetime, ended_at: datetime | None) -> str:
    if existing.client_id != client.pk:
        raise ValidationError(_("Order “%(ref)s” of this partner is already recorded for another client.")
                              % {"ref": existing.order_reference})
    if existing.started_at != started_at:
        raise ValidationError(_("Order “%(ref)s” is already recorded with another start (%(start)s).")
                              % {"ref": existing.order_reference, "start": existing.started_at.isoformat()})
    if ended_at is None or existing.ended_at == ended_at:
        return Outcome.UNCHANGED
    if existing.ended_at is not None:
        raise ValidationError(_("Order “%(ref)s” already ended at %(end)s; a recorded end is not changed.")
                              % {"ref": existing.order_reference, "end": existing.ended_at.isoformat()})
    return Outcome.ENDED


@transaction.atomic
def engagement_record(*, affiliate: Affiliate, client, order_reference: str, started_at: datetime,
                      ended_at: datetime | None = None, source: str, recorded_by=None,
                      recorded_by_key=None) -> tuple[PartnerEngagement, str]:
    """Record that an order of `client` was routed to the partner `affiliate` (and, once known, when it ended).

    The same order again changes nothing (`unchanged`), or records its end once (`ended`); another client or start
    for a recorded order is refused, so a re-import or a retried API call can never move an engagement."""
    order_reference = (order_reference or "").strip()
    errors = engagement_errors(affiliate=affiliate, client=client, order_reference=order_reference,
                               started_at=started_at, ended_at=ended_at)
    if errors:
        raise ValidationError(errors)
    existing = (PartnerEngagement.objects.select_for_update()
                .filter(affiliate=affiliate, order_reference=order_reference).first())
    if existing is None:
        try:
            with transaction.atomic():
                created = PartnerEngagement.objects.create(
                    affiliate=affiliate, client=client, order_reference=order_reference, started_at=started_at,
                    ended_at=ended_at, source=source, recorded_by=recorded_by, recorded_by_key=recorded_by_key)
            return created, Outcome.CREATED
        except IntegrityError:  # recorded meanwhile by a concurrent call: compare with that one
            existing = PartnerEngagement.objects.select_for_update().get(affiliate=affiliate,
                                                                          order_reference=order_reference)
    outcome = _compare(existing, client=client, started_at=started_at, ended_at=ended_at)
    if outcome == Outcome.ENDED:
        PartnerEngagement.objects.filter(pk=existing.pk, ended_at__isnull=True).update(ended_at=ended_at)
        existing.ended_at = ended_at
    return existing, outcome


def engagement_end(*, engagement: PartnerEngagement, ended_at: datetime, recorded_by=None) -> str:
    """The order ended (the admin's "end" field): `engagement_record` with the engagement's own values."""
    return engagement_record(affiliate=engagement.affiliate, client=engagement.client,
                             order_reference=engagement.order_reference, started_at=engagement.started_at,
                             ended_at=ended_at, source=engagement.source, recorded_by=recorded_by)[1]


@transaction.atomic
def engagement_feeds_close(*, at: datetime | None = None) -> int:
    """Beat task's work: each partner whose last engagement with a client ended more than ENGAGEMENT_TAIL_DAYS ago
    gets an `engagement-ended` withdrawal notice per purpose it received the client for, so it deletes its copy
    (GDPR Art. 5(1)(e), 17(2); PIPL Art. 19, 47). Set-based; run twice, it tells nobody twice. Returns the notices."""
    at = at or timezone.now()
    cutoff = engagement_window_start(at=at) - CLOSE_MARGIN
    due = list(PartnerEngagement.objects.select_for_update()
               .filter(feed_closed_at__isnull=True, ended_at__lte=cutoff)
               .values_list("pk", "affiliate_id", "client_id"))
    if not due:
        return 0
    pairs = {(affiliate_id, client_id) for _pk, affiliate_id, client_id in due}
    affiliates, clients = {a for a, _c in pairs}, {c for _a, c in pairs}
    # A later engagement still open (or in its tail) keeps the client served: those pairs wait for it to end.
    live = set(PartnerEngagement.objects.filter(affiliate_id__in=affiliates, client_id__in=clients)
               .filter(Q(ended_at__isnull=True) | Q(ended_at__gt=cutoff)).values_list("affiliate_id", "client_id"))
    closing = pairs - live
    held = (SharingRecord.objects.filter(affiliate_id__in=affiliates, client_id__in=clients)
            .values_list("affiliate_id", "client_id", "purpose_id").distinct())
    notices = [WithdrawalNotice(affiliate_id=a, client_id=c, purpose_id=p, reason=WithdrawalNotice.Reason.ENGAGEMENT_ENDED,
                                occurred_at=at)
               for a, c, p in sorted(held) if (a, c) in closing]
    notices_created([n.pk for n in WithdrawalNotice.objects.bulk_create(notices)])  # webhooks, in this transaction
    PartnerEngagement.objects.filter(pk__in=[pk for pk, a, c in due if (a, c) in closing]).update(feed_closed_at=at)
    return len(notices)
