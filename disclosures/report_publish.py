"""Publishing the transparency report: a half-year is published once, after it has ended, and never changes.

Each request enters the report exactly once, in the first half-year that ends after it was received *and* after
any non-disclosure requirement on it has passed (`withhold_until`): a request whose notice is still withheld is
counted nowhere, and when it is released it is counted in the next half-year to be published — never added to a
half-year already published, where a one-request change between two readings would point at it. Its outcome is
frozen as it stood at publication (a request still open then counts as received only).

Publication happens on the first reading after a half-year ends (the report page and CSV ask for it, so the quick
start needs no scheduler) and daily by the beat task `publish_transparency_report`.
"""

from dataclasses import dataclass
from datetime import date

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import Disclosure, TransparencyEntry, TransparencyPeriod

Status, RequestType = Disclosure.Status, Disclosure.RequestType
# The legal processes the report names; any other request type (illegal activity, prevention of claims) is "other".
NAMED_PROCESSES = [RequestType.COURT_ORDER, RequestType.SUBPOENA, RequestType.WARRANT, RequestType.REGULATORY,
                   RequestType.EMERGENCY]
OTHER = "other"
PRODUCED = [Status.DISCLOSED, Status.PARTIALLY_DISCLOSED]
_PUBLISHED_THROUGH = "transparency-report:published-through"


@dataclass(frozen=True, order=True)
class HalfYear:
    year: int
    half: int

    @classmethod
    def of(cls, day: date) -> "HalfYear":
        return cls(day.year, 1 if day.month <= 6 else 2)

    @property
    def key(self) -> str:
        return f"{self.year}-H{self.half}"

    @property
    def last_day(self) -> date:
        return date(self.year, 6, 30) if self.half == 1 else date(self.year, 12, 31)

    @property
    def short(self) -> str:
        return _("%(year)s H%(half)s") % {"year": self.year, "half": self.half}

    @property
    def label(self) -> str:
        text = _("January–June %(year)s") if self.half == 1 else _("July–December %(year)s")
        return text % {"year": self.year}

    def next(self) -> "HalfYear":
        return HalfYear(self.year, 2) if self.half == 1 else HalfYear(self.year + 1, 1)

    def previous(self) -> "HalfYear":
        return HalfYear(self.year, 1) if self.half == 2 else HalfYear(self.year - 1, 2)


def _outcome(status: str) -> str:
    return "produced" if status in PRODUCED else "rejected" if status == Status.REJECTED else "open"


def _entries_for(period: TransparencyPeriod, half_year: HalfYear) -> list[TransparencyEntry]:
    end = half_year.last_day
    eligible = (Disclosure.objects.filter(transparency_entry__isnull=True, received_on__lte=end)
                .filter(Q(withhold_until__isnull=True) | Q(withhold_until__lte=end))
                .prefetch_related("subjects").order_by("pk"))
    return [TransparencyEntry(period=period, disclosure=d, country=d.authority_country,
                              process=d.request_type if d.request_type in NAMED_PROCESSES else OTHER,
                              client_ids=sorted({s.client_id for s in d.subjects.all()}), outcome=_outcome(d.status))
            for d in eligible]


@transaction.atomic
def _publish_through(last_ended: HalfYear) -> int:
    latest = TransparencyPeriod.objects.order_by("-year", "-half").first()
    if latest is not None:
        half_year = HalfYear(latest.year, latest.half).next()
    else:
        first = Disclosure.objects.order_by("received_on").values_list("received_on", flat=True).first()
        if first is None:
            return 0
        half_year = HalfYear.of(first)
    entries = 0
    while half_year <= last_ended:
        period = TransparencyPeriod.objects.create(year=half_year.year, half=half_year.half)
        entries += len(TransparencyEntry.objects.bulk_create(_entries_for(period, half_year)))
        half_year = half_year.next()
    return entries


def transparency_report_publish(*, today: date | None = None) -> int:
    """Publish every half-year that has ended and is not published yet; returns how many requests entered it.
    Safe to call concurrently: the loser of a race on a half-year's row rolls back and finds it published."""
    last_ended = HalfYear.of(today or timezone.localdate()).previous()
    if cache.get(_PUBLISHED_THROUGH) == last_ended.key:
        return 0
    try:
        entries = _publish_through(last_ended)
    except IntegrityError:
        entries = 0
    if TransparencyPeriod.objects.filter(year=last_ended.year, half=last_ended.half).exists():
        cache.set(_PUBLISHED_THROUGH, last_ended.key, 24 * 3600)  # until then (no request yet), look each time
    return entries
