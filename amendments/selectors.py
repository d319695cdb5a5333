from datetime import datetime

from django.utils import timezone

from .models import PolicyVersion


def policy_in_force(*, at: datetime | None = None) -> PolicyVersion | None:
    """The published version whose effective date is the latest one not after `at` (default: now)."""
    at = at or timezone.now()
    return (
        PolicyVersion.objects.filter(published_at__isnull=False, effective_at__lte=at)
        .order_by("-effective_at", "-id")
        .first()
    )


def policy_versions_published():
    """Published versions only; the public pages never see a draft."""
    return PolicyVersion.objects.filter(published_at__isnull=False)
