"""Dormant accounts: clients with no log-in or other activity for RETENTION_DORMANT_ACCOUNT_MONTHS and nothing open
with us. The retention job warns them RETENTION_DORMANT_WARNING_DAYS before, by e-mail, and erases them through the
erasure machinery (rights/erasure), as if they had asked, only once that many days have passed since the warning.

The warning's record is its delivery row (notify's OutboundMessage of kind WARNING_KIND): when it was queued, when it
was sent, how it ended. A warning belongs to the current dormancy when it was queued after the start of the period
that `now + warning days` looks back on: the client has been inactive since before it, so nothing has happened since.
A client who uses the account again makes every earlier warning stale, and is warned again when next due.

What counts as activity is a list: the client's own traces below, plus whatever an app above registers with
`dormancy_activity_register` — an order or engagement model adds "clients with an open order, or one since".
"""

from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from accounts.models import Client, IPObservation
from consent.models import Channel, ConsentEvent
from notify.models import OutboundMessage

from ..models import DataSubjectRequest
from ..services import CLOSED
from .periods import months, months_before, warning_days

WARNING_KIND = "dormant-account-warning"
# A warning that left us: sent, or finally failed (the address on record no longer works; it is the only one we have,
# and an account nobody can be told about must not be kept for ever).
WARNING_GIVEN = (OutboundMessage.Status.SENT, OutboundMessage.Status.FAILED)

# since -> a queryset of client ids that were active since then, or have something still open (an order, a contract)
ActivitySource = Callable[[datetime], QuerySet]
_activity_sources: list[ActivitySource] = []


def dormancy_activity_register(source: ActivitySource) -> None:
    """Called from an app's AppConfig.ready(): its records keep a client from counting as dormant."""
    if source not in _activity_sources:
        _activity_sources.append(source)


def dormant_since(now: datetime) -> datetime:
    return months_before(now, months("RETENTION_DORMANT_ACCOUNT_MONTHS"))


def dormant_clients(*, now: datetime) -> QuerySet:
    """Clients not erased, known to us for longer than the period, and without, since its start: a log-in, a portal
    action or sign-up (IP observations), a consent change of any channel but `signup` — the defaults the portal
    records, at sign-up or for a new recipient (sharing.services.recipient_consent_ensure), are not the client's act
    —, or a request — and without a request still open (an erasure already scheduled included)."""
    since = dormant_since(now)
    requests = DataSubjectRequest.objects.filter(client=OuterRef("pk")).filter(
        Q(received_at__gte=since) | ~Q(status__in=CLOSED))
    clients = (Client.objects.filter(erased_at__isnull=True, created_at__lt=since)
               .exclude(user__last_login__gte=since).exclude(user__date_joined__gte=since)
               .exclude(Exists(IPObservation.objects.filter(client=OuterRef("pk"), last_seen__gte=since)))
               .exclude(Exists(ConsentEvent.objects.filter(client=OuterRef("pk"), occurred_at__gte=since)
                               .exclude(channel=Channel.SIGNUP)))
               .exclude(Exists(requests)))
    for source in _activity_sources:
        clients = clients.exclude(pk__in=source(since))
    return clients


# --- the warning before the erasure ---------------------------------------------------------------------------------

def warning_horizon(now: datetime) -> datetime:
    """The moment a warning given at `now` speaks of: the client is warned if they would be dormant by then."""
    return now + timedelta(days=warning_days())


def erasure_date(warned_at: datetime) -> date:
    """The day a warning queued at `warned_at` names: its local date plus the warning days (site time zone)."""
    return timezone.localdate(warned_at) + timedelta(days=warning_days())


def _warnings_of_this_dormancy(now: datetime) -> QuerySet:
    return OutboundMessage.objects.filter(client=OuterRef("pk"), kind=WARNING_KIND,
                                          created_at__gte=dormant_since(warning_horizon(now)))


def dormant_clients_to_warn(*, now: datetime) -> QuerySet:
    """Clients who will be dormant within the warning days (or already are) and have not been warned since they were
    last active."""
    return dormant_clients(now=warning_horizon(now)).exclude(Exists(_warnings_of_this_dormancy(now)))


def warning_given_in_time(now: datetime) -> Exists:
    """The client's warning of this dormancy left us on a day at least the warning days before today: the date the
    e-mail named has come (a warning delivered late moves the erasure later, never earlier)."""
    last_day = timezone.localdate(now) - timedelta(days=warning_days())
    before = timezone.make_aware(datetime.combine(last_day + timedelta(days=1), time.min))
    return Exists(_warnings_of_this_dormancy(now).filter(status__in=WARNING_GIVEN, finished_at__lt=before))


def dormant_clients_due(*, now: datetime) -> QuerySet:
    """Dormant clients that may be erased now: warned, and the warning's days have passed."""
    return dormant_clients(now=now).filter(warning_given_in_time(now))
