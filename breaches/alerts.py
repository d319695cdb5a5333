"""The privacy officers' alerts: once when 48 hours have passed since a breach was discovered without a notice to
the authority, once more at 72 hours (GDPR Art. 33(1)). One e-mail per officer and threshold, through the outbox;
the breach records that the alert went, in the same transaction, so no run sends it twice."""

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import User
from notify.models import OutboundMessage
from notify.services import messages_queue_many

from .clock import ALERT_AFTER, breach_clock
from .models import Breach, BreachAuditEntry
from .services import PRIVACY_GROUP

THRESHOLDS = {48: ("alert_48_at", ALERT_AFTER[0]), 72: ("alert_72_at", ALERT_AFTER[1])}


def _officers():
    return (User.objects.filter(is_active=True, is_staff=True, groups__name=PRIVACY_GROUP).exclude(email="")
            .order_by("pk").distinct())


def _alert(breach: Breach, hours: int) -> int:
    url = settings.SITE_URL + reverse("admin:breaches_breach_change", args=[breach.pk])
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Breach %(breach)s: %(hours)d hours without a notice to the authority") % {
            "breach": f"BR-{breach.pk:04d}", "hours": hours}
        body = _("The breach “%(title)s” was discovered %(hours)d hours ago and the supervisory authority has not been "
                 "notified. GDPR Art. 33(1) allows 72 hours; PIPL Art. 57 asks for a notice immediately.\n"
                 "72-hour clock: %(clock)s\n\n%(url)s") % {"title": breach.title, "hours": hours,
                                                            "clock": breach_clock(breach).text, "url": url}
    officers = list(_officers())
    messages_queue_many([OutboundMessage(channel=OutboundMessage.Channel.EMAIL, kind="breach-alert", to=officer.email,
                                         subject=subject, body=body,
                                         idempotency_key=f"breach-alert:{breach.pk}:{hours}h:{officer.pk}")
                         for officer in officers])
    return len(officers)


def overdue_breaches_alert(*, now=None) -> int:
    """Beat: every breach that has crossed 48 or 72 hours without a notice alerts the privacy officers once each."""
    now = now or timezone.now()
    sent = 0
    for hours, (field, after) in THRESHOLDS.items():
        due = Breach.objects.filter(status=Breach.Status.OPEN, authority_notified_at__isnull=True,
                                    discovered_at__lte=now - after, **{f"{field}__isnull": True})
        for breach_id in due.values_list("pk", flat=True):
            with transaction.atomic():
                breach = (Breach.objects.select_for_update(skip_locked=True)
                          .filter(pk=breach_id, authority_notified_at__isnull=True, **{f"{field}__isnull": True}).first())
                if breach is None:
                    continue
                count = _alert(breach, hours)
                Breach.objects.filter(pk=breach.pk).update(**{field: now})
                BreachAuditEntry.objects.create(breach=breach, action=BreachAuditEntry.Action.ALERT,
                                                note=f"{hours} h · {count} privacy officers")
                sent += 1
    return sent
