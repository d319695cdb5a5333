"""The 72-hour clock of GDPR Art. 33(1): from the moment Fulfillmen became aware of a breach to the notice to the
supervisory authority. PIPL Art. 57 asks for the notice "immediately"; 72 hours is the outer limit, and the privacy
officers are alerted at 48 hours already."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import NOTIFY_WITHIN, Breach

ALERT_AFTER = (timedelta(hours=48), NOTIFY_WITHIN)


def _span(delta: timedelta) -> str:
    minutes = max(int(delta.total_seconds() // 60), 0)
    hours, minutes = divmod(minutes, 60)
    return _("%(hours)d h %(minutes)02d min") % {"hours": hours, "minutes": minutes}


@dataclass(frozen=True)
class Clock:
    state: str          # "running", "overdue", "notified" or "closed" (closed without a notice, with the reason)
    text: str

    @property
    def overdue(self) -> bool:
        return self.state == "overdue"


def breach_clock(breach: Breach, *, now: datetime | None = None) -> Clock:
    now = now or timezone.now()
    if breach.authority_notified_at is not None:
        took = breach.authority_notified_at - breach.discovered_at
        late = took > NOTIFY_WITHIN
        text = (_("Authority notified %(span)s after discovery (late)") if late else
                _("Authority notified %(span)s after discovery")) % {"span": _span(took)}
        return Clock("notified", text)
    if breach.status == Breach.Status.CLOSED:
        return Clock("closed", _("Closed without a notice to the authority"))
    left = breach.deadline - now
    if left <= timedelta(0):
        return Clock("overdue", _("Overdue by %(span)s") % {"span": _span(-left)})
    return Clock("running", _("%(span)s left") % {"span": _span(left)})


def overdue_q(*, now: datetime | None = None) -> Q:
    """Breaches whose 72 hours have passed with no notice to the authority (and not closed)."""
    now = now or timezone.now()
    return Q(authority_notified_at__isnull=True, status=Breach.Status.OPEN, discovered_at__lte=now - NOTIFY_WITHIN)


def running_q(*, now: datetime | None = None) -> Q:
    now = now or timezone.now()
    return Q(authority_notified_at__isnull=True, status=Breach.Status.OPEN, discovered_at__gt=now - NOTIFY_WITHIN)
