"""How long the webhook log keeps what it holds of clients (GDPR Art. 5(1)(e); PIPL Art. 19): corrected values sent
to a recipient, and the first kilobyte of its answers, go RETENTION_MESSAGE_MONTHS after the event (as e-mails'
contents do); the events, their types and times and every delivery's outcome stay, as the proof that each recipient
was told (the notices and sharing records themselves are kept as sharing evidence). Rule `webhook_log`, enforced by
`manage.py enforce_retention`; an erasure removes the corrected values at once (webhooks/events.py)."""

from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet

from rights.retention.periods import months, months_before
from rights.retention.rules import Action, RetentionRule, held_via

from .models import WebhookAttempt, WebhookEvent

RULE_CODE = "webhook_log"


def _expired(now: datetime) -> QuerySet:
    cutoff = months_before(now, months("RETENTION_MESSAGE_MONTHS"))
    excerpts = WebhookAttempt.objects.filter(delivery__event_id=OuterRef("pk")).exclude(response_excerpt="")
    return WebhookEvent.objects.filter(created_at__lt=cutoff).filter(
        Q(payload__data__has_key="values") | Exists(excerpts))


def _wipe(items: QuerySet, now: datetime) -> int:
    count = 0
    for event in items:
        if "values" in event.payload.get("data", {}):
            event.payload["data"].pop("values")
            WebhookEvent.objects.filter(pk=event.pk).update(payload=event.payload)
        WebhookAttempt.objects.filter(delivery__event_id=event.pk).exclude(response_excerpt="").update(response_excerpt="")
        count += 1
    return count


WEBHOOK_LOG_RULE = RetentionRule(
    code=RULE_CODE, title="Webhook log: corrected values sent to recipients, their answers", action=Action.ANONYMISE,
    law="GDPR Art. 5(1)(e); PIPL Art. 19", model=WebhookEvent, expired=_expired, apply=_wipe,
    held=held_via("client_id"))
