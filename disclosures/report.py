"""The public transparency report: requests from authorities per half-year, requesting country and legal process.

An outsider learns only what the aggregates say. Every count below `TRANSPARENCY_BAND_BELOW` is published as a band
("0-4"); a row whose request count is banded shows no shares, since a share of a small number gives the number away;
and nothing is totalled across rows, so a banded value cannot be recovered by subtraction. Only half-years that have
ended are reported: a request received last week must not show up while the authority may still forbid telling the
client. The page, the CSV and the chart are all built from `ReportRow`s, which hold a count below the threshold only
as its band.
"""

import math
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import Case, CharField, Count, Q, Value, When
from django.db.models.functions import ExtractYear
from django.utils import timezone
from django.utils.translation import gettext as _
from django_countries import countries

from .models import Disclosure

Status, RequestType = Disclosure.Status, Disclosure.RequestType
# The legal processes the report names; any other request type (illegal activity, prevention of claims) is "other".
NAMED_PROCESSES = [RequestType.COURT_ORDER, RequestType.SUBPOENA, RequestType.WARRANT, RequestType.REGULATORY,
                   RequestType.EMERGENCY]
OTHER = "other"
PRODUCED = [Status.DISCLOSED, Status.PARTIALLY_DISCLOSED]


def band_below() -> int:
    return max(1, settings.TRANSPARENCY_BAND_BELOW)


def band_label() -> str:
    threshold = band_below()
    return "0" if threshold == 1 else f"0-{threshold - 1}"


def process_label(process: str) -> str:
    return _("Other") if process == OTHER else str(RequestType(process).label)


@dataclass(frozen=True, order=True)
class HalfYear:
    year: int
    half: int

    @property
    def key(self) -> str:
        return f"{self.year}-H{self.half}"

    @property
    def short(self) -> str:
        return _("%(year)s H%(half)s") % {"year": self.year, "half": self.half}

    @property
    def label(self) -> str:
        text = _("January–June %(year)s") if self.half == 1 else _("July–December %(year)s")
        return text % {"year": self.year}


def reported_until(today: date | None = None) -> date:
    """The first day of the current half-year: everything received before it is in the report."""
    today = today or timezone.localdate()
    return date(today.year, 1 if today.month <= 6 else 7, 1)


def transparency_counts(*, before: date) -> list[dict]:
    """The exact counts, in one grouped query: per half-year of `received_on`, requesting country and legal process."""
    process = Case(*[When(request_type=t, then=Value(t.value)) for t in NAMED_PROCESSES], default=Value(OTHER),
                   output_field=CharField())
    return list(
        Disclosure.objects.filter(received_on__lt=before)
        .annotate(year=ExtractYear("received_on"), process=process,
                  half=Case(When(received_on__month__lte=6, then=Value(1)), default=Value(2)))
        .values("year", "half", "authority_country", "process")
        .annotate(requests=Count("pk", distinct=True), clients=Count("subjects__client", distinct=True),
                  produced=Count("pk", filter=Q(status__in=PRODUCED), distinct=True),
                  rejected=Count("pk", filter=Q(status=Status.REJECTED), distinct=True))
        .order_by("-year", "-half", "authority_country", "process")
    )


def _shown(count: int) -> str:
    return str(count) if count >= band_below() else band_label()


def _percent(part: int, whole: int) -> int:
    return int((Decimal(100 * part) / whole).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class ReportRow:
    half_year: HalfYear
    country: str
    process: str
    requests: str
    clients: str
    produced_share: int | None  # percent of the requests received; None when the request count is banded
    rejected_share: int | None
    outcomes: tuple[int, int, int] | None  # produced, rejected, still open; None when the request count is banded

    @property
    def country_name(self) -> str:
        return str(countries.name(self.country)) or self.country

    @property
    def process_label(self) -> str:
        return process_label(self.process)


def _row(counts: dict) -> ReportRow:
    requests, produced, rejected = counts["requests"], counts["produced"], counts["rejected"]
    exact = requests >= band_below()
    return ReportRow(
        half_year=HalfYear(counts["year"], counts["half"]), country=counts["authority_country"], process=counts["process"],
        requests=_shown(requests), clients=_shown(counts["clients"]),
        produced_share=_percent(produced, requests) if exact else None,
        rejected_share=_percent(rejected, requests) if exact else None,
        outcomes=(produced, rejected, requests - produced - rejected) if exact else None)


@dataclass(frozen=True)
class ReportPeriod:
    half_year: HalfYear
    rows: list[ReportRow]


def transparency_report(*, today: date | None = None) -> list[ReportPeriod]:
    """The published report, newest half-year first."""
    periods: dict[HalfYear, list[ReportRow]] = {}
    for counts in transparency_counts(before=reported_until(today)):
        row = _row(counts)
        periods.setdefault(row.half_year, []).append(row)
    return [ReportPeriod(half_year, rows) for half_year, rows in periods.items()]


# Column names are keys for spreadsheets and scripts, the same in every language; the labels in the rows are translated.
CSV_HEADER = ["half_year", "country_code", "country", "legal_process", "legal_process_label", "requests_received",
              "clients_affected", "some_data_produced_percent", "rejected_percent"]


def transparency_csv_rows(periods: list[ReportPeriod]) -> list[list[str]]:
    """The same published values as the page; a share that is not shown is an empty cell."""
    def share(value):
        return "" if value is None else str(value)

    return [CSV_HEADER] + [
        [row.half_year.key, row.country, row.country_name, row.process, row.process_label, row.requests, row.clients,
         share(row.produced_share), share(row.rejected_share)]
        for period in periods for row in period.rows]


# The chart: requests received per half-year, oldest first, stacked by outcome. Rows whose counts are banded add a
# hatched segment as tall as the band's upper end, so no bar has an exact height that the table does not show.
CHART_TOP, CHART_BOTTOM, CHART_LEFT, CHART_RIGHT = 28, 40, 48, 16
PLOT_HEIGHT, SLOT_WIDTH, BAR_WIDTH, MIN_WIDTH = 220, 96, 48, 360
OUTCOMES = ("produced", "rejected", "open")


@dataclass(frozen=True)
class ChartSegment:
    kind: str  # one of OUTCOMES, or "band"
    y: str
    height: str


@dataclass(frozen=True)
class ChartBar:
    half_year: HalfYear
    x: str
    centre: str
    segments: list[ChartSegment]
    value: str  # above the bar: the exact count, or a range when some rows are banded
    value_y: str
    summary: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    plot_right: int
    baseline: str
    label_y: str  # of the half-year names under the bars
    ticks: list[tuple[str, str]]  # (y, label)
    bars: list[ChartBar]
    bar_width: int = BAR_WIDTH
    plot_left: int = CHART_LEFT
    tick_x: int = CHART_LEFT - 8


def _step(top: int) -> int:
    """A round tick step (1, 2 or 5 times a power of ten) giving about four ticks up to `top`."""
    raw = max(top / 4, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)


def _summary(half_year: HalfYear, value: str, outcomes: list[int], banded: int) -> str:
    if not banded:
        text = _("%(period)s: %(value)s requests received; %(produced)s with some or all data produced, "
                 "%(rejected)s rejected, %(open)s still open.")
    elif sum(outcomes):
        text = _("%(period)s: %(value)s requests received. Of the %(known)s shown exactly, %(produced)s with some or "
                 "all data produced, %(rejected)s rejected, %(open)s still open; the rest are in groups too small to "
                 "show exactly.")
    else:
        text = _("%(period)s: %(value)s requests received, all in groups too small to show exactly.")
    return text % {"period": half_year.label, "value": value, "known": sum(outcomes),
                   **dict(zip(OUTCOMES, outcomes, strict=True))}


def transparency_chart(periods: list[ReportPeriod]) -> Chart | None:
    if not periods:
        return None
    band_top = band_below() - 1
    stacks = []
    for period in sorted(periods, key=lambda p: p.half_year):
        known = [sum(row.outcomes[i] for row in period.rows if row.outcomes) for i in range(3)]
        stacks.append((period.half_year, known, sum(row.outcomes is None for row in period.rows)))
    highest = max(sum(known) + banded * band_top for __, known, banded in stacks) or 1
    step = _step(highest)
    top = step * math.ceil(highest / step)

    def y(value):
        return CHART_TOP + PLOT_HEIGHT * (1 - value / top)

    bars = []
    for index, (half_year, known, banded) in enumerate(stacks):
        segments, level = [], 0
        for kind, count in [*zip(OUTCOMES, known, strict=True), ("band", banded * band_top)]:
            if count:
                segments.append(ChartSegment(kind, f"{y(level + count):.1f}", f"{y(level) - y(level + count):.1f}"))
                level += count
        exact = sum(known)
        value = f"{exact}-{exact + banded * band_top}" if banded and band_top else str(exact)
        x = CHART_LEFT + index * SLOT_WIDTH + (SLOT_WIDTH - BAR_WIDTH) / 2
        bars.append(ChartBar(half_year, f"{x:.1f}", f"{x + BAR_WIDTH / 2:.1f}", segments, value, f"{y(level) - 8:.1f}",
                             _summary(half_year, value, known, banded)))
    width = max(MIN_WIDTH, CHART_LEFT + len(stacks) * SLOT_WIDTH + CHART_RIGHT)
    ticks = [(f"{y(v):.1f}", str(v)) for v in range(0, top + 1, step)]
    return Chart(width=width, height=CHART_TOP + PLOT_HEIGHT + CHART_BOTTOM, plot_right=width - CHART_RIGHT,
                 baseline=f"{y(0):.1f}", label_y=f"{y(0) + 24:.1f}", ticks=ticks, bars=bars)
