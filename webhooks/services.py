"""Managing endpoints (the admin and the API call these): create, rotate, enable, delete, redeliver."""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from sharing.models import Affiliate, SharingAgreement

from .delivery import endpoints_kick, retry_window
from .destinations import DestinationRefused, destination_resolve
from .models import SUBSCRIBABLE, EventType, WebhookDelivery, WebhookEndpoint
from .secrets import secret_decrypt, secret_encrypt, secret_generate

MAX_ENDPOINTS_PER_RECIPIENT = 10


def events_allowed(*, affiliate: Affiliate, at: datetime | None = None) -> list[str]:
    """The event types this recipient may subscribe to: all, except `consent.granted` unless an agreement in force
    lets it know of new consents."""
    at = at or timezone.now()
    tells = SharingAgreement.objects.filter(affiliate=affiliate, tells_grants=True, valid_from__lte=at).filter(
        Q(valid_until__isnull=True) | Q(valid_until__gt=at)).exists()
    return [t for t in SUBSCRIBABLE if t != EventType.CONSENT_GRANTED or tells]


def events_validate(*, affiliate: Affiliate, events) -> list[str]:
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        raise ValidationError({"events": _("Choose at least one event type.")})
    unknown = sorted(set(events) - set(SUBSCRIBABLE))
    if unknown:
        raise ValidationError({"events": _("Unknown event types: %(types)s. Choose from: %(allowed)s.") % {
            "types": ", ".join(unknown), "allowed": ", ".join(SUBSCRIBABLE)}})
    refused = sorted(set(events) - set(events_allowed(affiliate=affiliate)))
    if refused:
        raise ValidationError({"events": _("Your agreement does not let you receive: %(types)s.") % {
            "types": ", ".join(refused)}})
    return [t for t in SUBSCRIBABLE if t in events]


def url_validate(url: str) -> str:
    url = (url or "").strip()
    if not url or len(url) > 500:
        raise ValidationError({"url": _("Give the endpoint's URL (at most 500 characters).")})
    try:
        destination_resolve(url)
    except DestinationRefused as exc:
        raise ValidationError({"url": str(exc)}) from None
    return url


@transaction.atomic
def endpoint_create(*, affiliate: Affiliate, url: str, events, created_by=None) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret (returned once; only its encryption is kept)."""
    if affiliate.kind == Affiliate.Kind.PROCESSOR:
        raise ValidationError(_("A processor receives no client feed, so it gets no webhooks."))
    Affiliate.objects.select_for_update().filter(pk=affiliate.pk).first()  # the count below holds until commit
    if WebhookEndpoint.objects.filter(affiliate=affiliate, deleted_at__isnull=True).count() >= MAX_ENDPOINTS_PER_RECIPIENT:
        raise ValidationError(_("A recipient may have at most %(n)s endpoints.") % {"n": MAX_ENDPOINTS_PER_RECIPIENT})
    events = events_validate(affiliate=affiliate, events=events)
    url = url_validate(url)
    secret = secret_generate()
    endpoint = WebhookEndpoint.objects.create(affiliate=affiliate, url=url, events=events,
                                              secret_encrypted=secret_encrypt(secret), created_by=created_by)
    return endpoint, secret


def rotation_overlap() -> timedelta:
    return timedelta(hours=float(getattr(settings, "WEBHOOK_ROTATION_OVERLAP_HOURS", 24)))


@transaction.atomic
def endpoint_rotate(*, endpoint: WebhookEndpoint) -> str:
    """A new secret signs from now on; the old one signs too until the overlap ends, so a recipient can switch
    without losing a message. Returns the new secret (shown once)."""
    locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    secret = secret_generate()
    try:
        secret_decrypt(locked.secret_encrypted)
        readable = True
    except ValueError:  # stored under another WEBHOOK_SECRET_KEY: it cannot sign, so it is not kept for the overlap
        readable = False
    locked.previous_secret_encrypted = locked.secret_encrypted if readable else ""
    locked.previous_secret_until = timezone.now() + rotation_overlap() if readable else None
    locked.secret_encrypted = secret_encrypt(secret)
    locked.save(update_fields=["secret_encrypted", "previous_secret_encrypted", "previous_secret_until"])
    endpoint.refresh_from_db()
    return secret


@transaction.atomic
def endpoint_change(*, endpoint: WebhookEndpoint, url: str | None = None, events=None,
                    enabled: bool | None = None) -> WebhookEndpoint:
    changed = []
    if url is not None:
        endpoint.url = url_validate(url)
        changed.append("url")
    if events is not None:
        endpoint.events = events_validate(affiliate=endpoint.affiliate, events=events)
        changed.append("events")
    if enabled is not None and enabled != endpoint.enabled:
        endpoint.enabled = enabled
        endpoint.disabled_reason = "" if enabled else _("Disabled by hand.")
        changed += ["enabled", "disabled_reason"]
        if enabled:  # a fresh start: what waited while it was off goes now
            endpoint.failures_in_row, endpoint.failing_since, endpoint.alerted_at = 0, None, None
            changed += ["failures_in_row", "failing_since", "alerted_at"]
    if changed:  # only what changed: a delivery may be updating the health counters at the same moment
        endpoint.save(update_fields=changed)
    if endpoint.enabled:
        transaction.on_commit(lambda: endpoints_kick([endpoint.pk]), robust=True)
    return endpoint


@transaction.atomic
def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Nothing more goes to it; its delivery log stays (the evidence of who was told what, when)."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(deleted_at=timezone.now(), enabled=False,
                                                          disabled_reason=_("Deleted."))


@transaction.atomic
def deliveries_redeliver(*, delivery_ids) -> int:
    """Send again now, with the same webhook-id: a delivery that failed or gave up, or one the recipient lost."""
    rows = WebhookDelivery.objects.filter(pk__in=list(delivery_ids)).exclude(status=WebhookDelivery.Status.SENDING)
    endpoint_ids = sorted(set(rows.values_list("endpoint_id", flat=True)))
    now = timezone.now()
    count = rows.update(status=WebhookDelivery.Status.PENDING, next_attempt_at=now, retry_until=now + retry_window())
    transaction.on_commit(lambda: endpoints_kick(endpoint_ids), robust=True)
    return count
