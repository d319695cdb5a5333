from datetime import datetime

from django.db import transaction
from django.utils import timezone

from .models import PolicyVersion


@transaction.atomic
def policy_first_version_ensure(*, label: str, body_en: str, body_zh_hans: str, summary: str,
                                effective_at: datetime | None = None) -> PolicyVersion:
    """The first published version (demo data, a fresh installation). Leaves an existing one untouched."""
    at = effective_at or timezone.now()
    version, _ = PolicyVersion.objects.get_or_create(
        label=label,
        defaults={"body_en": body_en, "body_zh_hans": body_zh_hans, "summary": summary, "published_at": at, "effective_at": at},
    )
    return version
