"""Reads of a breach's affected clients, always for a requester: rows kept for a withheld disclosure are Legal's."""

from django.db.models import Q, QuerySet
from django.utils import timezone

from accounts.roles import sees_withheld_disclosures

from .models import Breach, BreachSubject


def visible_q(prefix: str = "", *, today=None) -> Q:
    today = today or timezone.localdate()
    return Q(**{f"{prefix}withheld_until__isnull": True}) | Q(**{f"{prefix}withheld_until__lte": today})


def breach_subjects_for(*, breach: Breach, viewer) -> QuerySet:
    """The breach's affected clients as `viewer` may know them."""
    subjects = BreachSubject.objects.filter(breach=breach)
    return subjects if sees_withheld_disclosures(viewer) else subjects.filter(visible_q())


def breach_subject_counts(*, breach: Breach, viewer) -> dict:
    from django.db.models import Count

    return breach_subjects_for(breach=breach, viewer=viewer).aggregate(
        total=Count("pk"), notified=Count("pk", filter=Q(notified_at__isnull=False)),
        erased=Count("pk", filter=Q(client__erased_at__isnull=False)))


CSV_COLUMNS = ["client_id", "full_name", "email", "phone", "preferred_language", "categories_affected", "notified_at"]


def breach_subject_rows(*, breach: Breach, viewer):
    """One row per affected client for the CSV (client data: the caller logs the export)."""
    subjects = breach_subjects_for(breach=breach, viewer=viewer).select_related("client").order_by("client_id")
    for subject in subjects.iterator(chunk_size=2000):
        client = subject.client
        yield subject.client_id, [str(client.public_id), client.full_name, client.email, client.phone,
                                  client.preferred_language, " ".join(subject.categories),
                                  subject.notified_at.isoformat() if subject.notified_at else ""]
