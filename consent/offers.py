"""Consent purposes offered only to some clients.

A business transfer that changes the purpose creates a consent purpose of its own (PIPL Art. 22: the acquirer must
ask again). It concerns only the clients the transfer concerns, so nobody else should see it under "Your choices",
be able to give it there, or get a sign-up event for it. `transfers` sits above consent, so it registers here, in its
AppConfig.ready(), which purposes it restricts and to whom each is offered; consent asks here wherever it lists the
consent purposes of one client (the choices page, the sign-up defaults, one by one and in bulk).

With nothing registered every purpose is offered to everyone, as before. A consent a client holds is always shown
(`purposes_with_state`), so that it can be withdrawn whatever a registration says.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import Q, QuerySet


@dataclass(frozen=True)
class PurposeAudience:
    restricted: Callable[[], QuerySet]  # () -> the restricted purposes' ids: values_list(..., flat=True)
    offered: Callable[[], QuerySet]     # () -> rows with `client_id` and `purpose_id`: to whom each one is offered
    # (client id) -> the SQL of a version of everything the two read for that client (accounts/page_fragments.py);
    # None: pages listing one client's purposes are never kept rendered.
    version_sql: Callable[[int], list] | None = None


_registered: list[PurposeAudience] = []


def purpose_audience_register(audience: PurposeAudience) -> None:
    if audience not in _registered:
        _registered.append(audience)


def offered_to(*, client_id: int) -> Q:
    """A filter on Purpose: those this client may be offered (every unrestricted one, and a restricted one only where
    it is offered to them). Subqueries, so the page listing them stays one query."""
    q = Q(pk__isnull=False)  # every purpose; not Q(), which an OR with another Q would drop
    for audience in _registered:
        mine = audience.offered().filter(client_id=client_id).values("purpose_id")
        q &= ~Q(pk__in=audience.restricted()) | Q(pk__in=mine)
    return q


def offers_version_sql(*, client_id: int) -> list | None:
    """For a kept page listing this client's purposes: the registered audiences' versions (None if one has none)."""
    parts = []
    for audience in _registered:
        if audience.version_sql is None:
            return None
        parts += audience.version_sql(client_id)
    return parts


def offer_check(*, client_ids: Iterable[int]) -> Callable[[int, int], bool]:
    """For many clients at once (bulk sign-up defaults): `offered(client_id, purpose_id)`, two queries per
    registration whatever the number of clients."""
    client_ids = list(client_ids)
    restricted, pairs = set(), set()
    for audience in _registered:
        restricted |= set(audience.restricted())
        pairs |= set(audience.offered().filter(client_id__in=client_ids).values_list("client_id", "purpose_id"))
    return lambda client_id, purpose_id: purpose_id not in restricted or (client_id, purpose_id) in pairs
