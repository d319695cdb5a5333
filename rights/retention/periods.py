"""Retention periods as settings (and the days of the dormant-account warning), and how a period reads in the active
language ("12 months", "2 years")."""

from datetime import datetime

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import ngettext

# The law's floor under a period that a setting may lengthen but never shorten.
MINIMUM_MONTHS = {"RETENTION_REQUEST_LOG_MONTHS": 24}  # 11 CCR 7101(a): the request log, at least 24 months


def months(name: str) -> int:
    """The period a setting names, in months; a value the law (or common sense) refuses stops the job loudly."""
    value = getattr(settings, name)
    floor = MINIMUM_MONTHS.get(name, 1)
    if not isinstance(value, int) or value < floor:
        raise ImproperlyConfigured(f"{name}={value!r}: a retention period is a whole number of months, at least {floor}.")
    return value


def warning_days() -> int:
    """RETENTION_DORMANT_WARNING_DAYS: how many days before a dormant account is erased its client is warned. At least
    one day (erasure without a warning is what it exists to prevent) and shorter than the dormancy period itself."""
    name, value = "RETENTION_DORMANT_WARNING_DAYS", settings.RETENTION_DORMANT_WARNING_DAYS
    if not isinstance(value, int) or not 1 <= value < 28 * months("RETENTION_DORMANT_ACCOUNT_MONTHS"):
        raise ImproperlyConfigured(f"{name}={value!r}: a whole number of days, at least 1 and shorter than "
                                   "RETENTION_DORMANT_ACCOUNT_MONTHS.")
    return value


def months_before(now: datetime, count: int) -> datetime:
    """The moment `count` calendar months before `now` (an item last touched before it has expired)."""
    return now - relativedelta(months=count)


def period_text(count: int) -> str:
    """A period in months as a reader says it: "12 months", but whole years from two on ("2 years")."""
    if count >= 24 and count % 12 == 0:
        years = count // 12
        return ngettext("%(count)d year", "%(count)d years", years) % {"count": years}
    return ngettext("%(count)d month", "%(count)d months", count) % {"count": count}


def days_text(count: int) -> str:
    return ngettext("%(count)d day", "%(count)d days", count) % {"count": count}
