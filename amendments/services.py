"""Writes for policy versions: drafts change freely; publishing checks the notice period; published ones never change.

PIPL Art. 17 and the seed policy ("clients will receive prior notification via mail and also in their registered
contact number"): every change is announced before it applies. A material change takes effect no sooner than
POLICY_NOTICE_DAYS after it is published (and asks for acceptance), any other no sooner than POLICY_MINOR_NOTICE_DAYS.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import PolicyVersion
from .notices import notices_create
from .signals import policy_published

DRAFT_FIELDS = ["label", "summary", "summary_zh_hans", "body_en", "body_zh_hans", "is_material"]


@transaction.atomic
def policy_first_version_ensure(*, label: str, body_en: str, body_zh_hans: str, summary: str, summary_zh_hans: str = "",
                                effective_at: datetime | None = None) -> PolicyVersion:
    """The first published version (demo data, a fresh installation). Leaves an existing one untouched."""
    at = effective_at or timezone.now()
    version, _ = PolicyVersion.objects.get_or_create(
        label=label,
        defaults={"body_en": body_en, "body_zh_hans": body_zh_hans, "summary": summary, "summary_zh_hans": summary_zh_hans,
                  "published_at": at, "effective_at": at},
    )
    return version


@transaction.atomic
def policy_draft_save(*, version: PolicyVersion | None = None, **fields) -> PolicyVersion:
    """Create or change a draft. A published version is refused: corrections are a new version."""
    unknown = set(fields) - set(DRAFT_FIELDS)
    if unknown:
        raise ValueError(f"policy_draft_save cannot set {sorted(unknown)}")
    if version is not None and version.pk:
        locked = PolicyVersion.objects.select_for_update().get(pk=version.pk)
        if locked.is_published:
            raise ValidationError(_("Version %(label)s is published and can no longer change; write a new version.")
                                  % {"label": locked.label})
    version = version or PolicyVersion()
    for name, value in fields.items():
        setattr(version, name, value)
    if not (version.body_en or "").strip():
        raise ValidationError({"body_en": _("The English text is required.")})
    version.full_clean(exclude=["published_by"])
    version.save()
    return version


def notice_days(*, material: bool = True) -> int:
    return settings.POLICY_NOTICE_DAYS if material else settings.POLICY_MINOR_NOTICE_DAYS


def notice_period(*, material: bool = True) -> timedelta:
    """The shortest time between publication and effect: POLICY_NOTICE_DAYS, or POLICY_MINOR_NOTICE_DAYS."""
    return timedelta(days=notice_days(material=material))


@transaction.atomic
def policy_publish(*, version: PolicyVersion, effective_at: datetime, published_by=None,
                   now: datetime | None = None) -> PolicyVersion:
    """Publish a draft. Material changes need the full notice period, others the shorter one (at once only where
    POLICY_MINOR_NOTICE_DAYS is 0).

    Publishing twice is refused (the second call finds the version published), so notices go out once.
    """
    now = now or timezone.now()
    locked = PolicyVersion.objects.select_for_update().get(pk=version.pk)
    if locked.is_published:
        raise ValidationError(_("Version %(label)s is already published.") % {"label": locked.label})
    if effective_at < now - timedelta(minutes=1):
        raise ValidationError({"effective_at": _("The effective date cannot be in the past.")})
    effective_at = max(effective_at, now)  # "now" as typed a moment ago means at publication
    period = notice_period(material=locked.is_material)
    if effective_at < now + period:
        earliest = timezone.localtime(now + period).strftime("%Y-%m-%d %H:%M")
        message = (_("A material change needs %(days)s days' notice: it can take effect on %(earliest)s at the earliest.")
                   if locked.is_material else
                   _("A change that is not material still needs %(days)s days' notice: it can take effect on "
                     "%(earliest)s at the earliest."))
        raise ValidationError({"effective_at": message % {"days": period.days, "earliest": earliest}})
    PolicyVersion.objects.filter(pk=locked.pk).update(published_at=now, effective_at=effective_at, published_by=published_by)
    locked.refresh_from_db()
    # Every client is told, by email and SMS, in the same transaction that publishes; sending starts on commit.
    notices_create(version=locked, at=now)
    policy_published.send(sender=PolicyVersion, version=locked, at=now)
    transaction.on_commit(lambda: _start_senders(locked.pk), robust=True)
    return locked


def _start_senders(version_id: int) -> None:
    from .tasks import send_notices_soon

    send_notices_soon(version_id)
