"""Dormant accounts: clients with no log-in or other activity for RETENTION_DORMANT_ACCOUNT_MONTHS and nothing open
with us. The retention job erases them through the erasure machinery (rights/erasure), as if they had asked.

What counts as activity is a list: the client's own traces below, plus whatever an app above registers with
`dormancy_activity_register` — an order or engagement model adds "clients with an open order, or one since".
"""

from collections.abc import Callable
from datetime import datetime

from django.db.models import Exists, OuterRef, Q, QuerySet

from accounts.models import Client, IPObservation
from consent.models import ConsentEvent

from ..models import DataSubjectRequest
from ..services import CLOSED
from .periods import months, months_before

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
    action or sign-up (IP observations), a consent change of any channel, or a request — and without a request
    still open (an erasure already scheduled included)."""
    since = dormant_since(now)
    requests = DataSubjectRequest.objects.filter(client=OuterRef("pk")).filter(
        Q(received_at__gte=since) | ~Q(status__in=CLOSED))
    clients = (Client.objects.filter(erased_at__isnull=True, created_at__lt=since)
               .exclude(user__last_login__gte=since).exclude(user__date_joined__gte=since)
               .exclude(Exists(IPObservation.objects.filter(client=OuterRef("pk"), last_seen__gte=since)))
               .exclude(Exists(ConsentEvent.objects.filter(client=OuterRef("pk"), occurred_at__gte=since)))
               .exclude(Exists(requests)))
    for source in _activity_sources:
        clients = clients.exclude(pk__in=source(since))
    return clients
