"""The staff access log: who in the admin viewed, exported or changed which client's personal data, when, which
fields, and the reason given for a bulk export. Rows are only ever inserted (a trigger refuses UPDATE and DELETE);
a list page writes its rows in one INSERT, however many clients it shows.

The admin path is stored without its query string: a search for an e-mail address must not copy it into the log.
"""

from collections.abc import Callable, Iterable

from django.db.models import Count, Max, Q, QuerySet
from django.db.models.functions import TruncMonth

from .models import StaffAccess

Action = StaffAccess.Action
LOOKED_AT = [Action.VIEW_LIST, Action.VIEW_DETAIL, Action.DISCLOSURE]


def staff_access_record(*, staff, client_ids: Iterable[int], action: str, fields: Iterable[str] = (), path: str = "",
                        reason: str = "") -> int:
    """One row per distinct client, in one INSERT. Returns how many were written."""
    ids = list(dict.fromkeys(i for i in client_ids if i is not None))
    if not ids or not getattr(staff, "is_staff", False):
        return 0
    fields = list(fields)
    StaffAccess.objects.bulk_create([
        StaffAccess(staff_id=staff.pk, client_id=i, action=action, fields=fields, path=path[:300], reason=reason)
        for i in ids
    ], batch_size=2000)
    return len(ids)


# Rows some viewers must not see yet. An app above registers a sealer (queryset, viewer) -> queryset: disclosures
# hides Legal's looks at a withheld disclosure from the client and from non-Legal staff until it is released.
_sealers: list[Callable[[QuerySet, object], QuerySet]] = []


def staff_access_sealer_register(sealer: Callable[[QuerySet, object], QuerySet]) -> None:
    if sealer not in _sealers:
        _sealers.append(sealer)


def staff_access_visible(queryset: QuerySet, *, viewer=None) -> QuerySet:
    """The rows `viewer` may see (None: the client the rows are about)."""
    for sealer in _sealers:
        queryset = sealer(queryset, viewer)
    return queryset


def staff_access_months(client) -> QuerySet:
    """What the client sees: per month, how often staff looked at, changed or exported their record, and the last
    time — never who, and nothing sealed (`staff_access_visible`)."""
    return (staff_access_visible(StaffAccess.objects.filter(client=client)).annotate(month=TruncMonth("at")).values("month")
            .annotate(looked_at=Count("pk", filter=Q(action__in=LOOKED_AT)),
                      changed=Count("pk", filter=Q(action=Action.CHANGE)),
                      exported=Count("pk", filter=Q(action=Action.EXPORT)),
                      last_at=Max("at"))
            .order_by("-month"))


def staff_access_summary(client) -> dict:
    """All accesses to the client's record: how many, and the last time (one query)."""
    return staff_access_visible(StaffAccess.objects.filter(client=client)).aggregate(total=Count("pk"), last_at=Max("at"))
