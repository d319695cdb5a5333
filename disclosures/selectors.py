"""Reads about disclosures that other surfaces filter by: which ones are still under a non-disclosure requirement.

A disclosure is withheld while its `withhold_until` lies in the future. Withheld disclosures are invisible to
everyone but Legal and superusers (`accounts.roles.sees_withheld_disclosures`) until released.
"""

from django.db.models import Q
from django.utils import timezone

from accounts.roles import LEGAL_GROUP, sees_withheld_disclosures

__all__ = ["LEGAL_GROUP", "sees_withheld_disclosures", "withheld_q"]


def withheld_q(prefix: str = "", *, today=None) -> Q:
    """Matches disclosures (or rows reaching one through `prefix`, e.g. "disclosure__") withheld today."""
    return Q(**{f"{prefix}withhold_until__gt": today or timezone.localdate()})


def clients_with_withheld_disclosures(*, today=None):
    """The ids of clients some withheld disclosure concerns (a subquery)."""
    from .models import DisclosureSubject

    return DisclosureSubject.objects.filter(withheld_q("disclosure__", today=today)).values("client_id")


def withheld_looks_sealed(queryset, viewer):
    """Staff-access sealer: while a disclosure concerning a client is withheld, Legal's (and superusers') looks at
    that client made in a disclosure (its record page, the client search of its form, a withheld hold or sharing
    record) are hidden from the client's own summary and from
    staff other than Legal. They stay in the log, and show once no withheld disclosure concerns the client."""
    from django.db.models import Q

    from accounts.models import StaffAccess, User

    if viewer is not None and sees_withheld_disclosures(viewer):
        return queryset
    knowing = User.objects.filter(Q(is_superuser=True) | Q(groups__name=LEGAL_GROUP)).values("pk")
    return queryset.exclude(action=StaffAccess.Action.DISCLOSURE, staff_id__in=knowing,
                            client_id__in=clients_with_withheld_disclosures())
