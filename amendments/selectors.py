from datetime import datetime

from django.utils import timezone

from .models import PolicyVersion

# The same rule as `policy_in_force`, as SQL for a writer that looks it up in a statement it runs anyway (the consent
# ledger's lock statement). Parameter %(at)s; always one row: id and label of the version in force at `at` (NULL if
# none) and `until`, the next published effective date after `at` (NULL if none), after which the answer may change.
# A test keeps it in step with `policy_in_force`.
POLICY_IN_FORCE_SQL = """
SELECT current.id, current.label, (
    SELECT min(effective_at) FROM amendments_policyversion WHERE published_at IS NOT NULL AND effective_at > %(at)s
) AS until
FROM (SELECT 1) AS one LEFT JOIN (
    SELECT id, label FROM amendments_policyversion WHERE published_at IS NOT NULL AND effective_at <= %(at)s
    ORDER BY effective_at DESC, id DESC LIMIT 1
) AS current ON true
"""


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
