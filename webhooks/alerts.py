"""The partner managers are told, once per outage, by e-mail, when an endpoint has failed for
WEBHOOK_ALERT_HOURS (24) in a row: the recipient is no longer being told of withdrawals and erasures, so someone must
call it (the withdrawal feed still has everything)."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from notify.services import message_queue

from .models import WebhookEndpoint

PARTNER_MANAGERS = "Partner managers"


def _managers() -> list[str]:
    return list(User.objects.filter(is_active=True, is_staff=True, groups__name=PARTNER_MANAGERS)
                .exclude(email="").values_list("email", flat=True).distinct().order_by("email"))


def failing_endpoints_alert(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    hours = float(getattr(settings, "WEBHOOK_ALERT_HOURS", 24))
    threshold = now - timedelta(hours=hours)
    failing = list(WebhookEndpoint.objects.filter(enabled=True, deleted_at__isnull=True, failing_since__lte=threshold,
                                                  alerted_at__isnull=True).select_related("affiliate"))
    if not failing:
        return 0
    managers = _managers()
    for endpoint in failing:
        with transaction.atomic():
            if not WebhookEndpoint.objects.filter(pk=endpoint.pk, alerted_at__isnull=True).update(alerted_at=now):
                continue
            link = settings.SITE_URL + reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk])
            body = (f"The webhook endpoint of {endpoint.affiliate.name} has failed every delivery since "
                    f"{endpoint.failing_since:%Y-%m-%d %H:%M} UTC ({endpoint.failures_in_row} attempts in a row).\n\n"
                    f"URL: {endpoint.url}\n\nThe recipient is not being told of withdrawals, corrections and erasures "
                    f"by webhook; deliveries are retried for {float(getattr(settings, 'WEBHOOK_RETRY_HOURS', 72)):g} hours and "
                    f"the withdrawal feed still lists everything. Please contact {endpoint.affiliate.contact_name} "
                    f"<{endpoint.affiliate.contact_email}>.\n\nEndpoint: {link}\n")
            for email in managers:
                message_queue(channel="email", kind="webhook-failing", to=email,
                              subject=f"Webhooks to {endpoint.affiliate.name} failing for {hours:g} hours", body=body,
                              idempotency_key=f"webhook-failing-{endpoint.pk}-{endpoint.failing_since.timestamp():.0f}-{email}")
    return len(failing)


def endpoint_gone_alert(*, endpoint: WebhookEndpoint, now: datetime) -> None:
    """The endpoint answered 410 Gone and was disabled: its deliveries wait, and the partner managers must find out
    where the recipient now wants them (or enable it again). Called in the transaction that disables it."""
    link = settings.SITE_URL + reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk])
    affiliate = endpoint.affiliate
    body = (f"The webhook endpoint of {affiliate.name} answered 410 Gone on {now:%Y-%m-%d %H:%M} UTC and was disabled.\n\n"
            f"URL: {endpoint.url}\n\nIts undelivered events wait and go out once it is enabled again (or the recipient "
            f"adds a new endpoint and reads the withdrawal feed). Please contact {affiliate.contact_name} "
            f"<{affiliate.contact_email}>.\n\nEndpoint: {link}\n")
    for email in _managers():
        message_queue(channel="email", kind="webhook-gone", to=email, subject=f"Webhooks to {affiliate.name} disabled: 410 Gone",
                      body=body, idempotency_key=f"webhook-gone-{endpoint.pk}-{now.timestamp():.0f}-{email}")
