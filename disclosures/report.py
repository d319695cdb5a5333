"""The public transparency report: requests from authorities per half-year, requesting country and legal process.

An outsider learns only what the aggregates say. Every count below `TRANSPARENCY_BAND_BELOW` is published as a band
("0-4"); a row whose request count is banded shows no shares, since a share of a small number gives the number away;
and nothing is totalled across rows, so a banded value cannot be recovered by subtraction. Only half-years that have
ended are reported, and a published half-year never changes: `report_publish.py` decides once which requests it
counts, leaving out any whose notice to the client is still withheld (they enter a later half-year). The page,
the CSV and the chart are all built from `ReportRow`s, which hold a count below the threshold only as its band.
"""

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.utils.translation import gettext as _
from django_countries import countries

from .models import Disclosure, TransparencyEntry
from .report_publish import OTHER, HalfYear, transparency_report_publish

RequestType = Disclosure.RequestType


def band_below() -> int:
    return max(1, settings.TRANSPARENCY_BAND_BELOW)


def band_label() -> str:
    threshold = band_below()
    return "0" if threshold == 1 else f"0-{threshold - 1}"


def process_label(process: str) -> str:
    return _("Other") if process == OTHER else str(RequestType(process).label)


def transparency_counts(*, today: date | None = None) -> list[dict]:
    """The exact counts of the published half-years (publishing any that have just ended), per half-year,
    requesting country and legal process: one query for the entries, grouped here (clients counted distinct)."""
    transparency_report_publish(today=today)
    groups: dict[tuple, dict] = defaultdict(lambda: {"requests": 0, "clients": set(), "produced": 0, "rejected": 0})
    entries = (TransparencyEntry.objects.values_list("period__year", "period__half", "country", "process", "client_ids",
                                                     "outcome"))
    for year, half, country, process, client_ids, outcome in entries:
        group = groups[(year, half, country, process)]
        group["requests"] += 1
        group["clients"].update(client_ids)
        group["produced"] += outcome == "produced"
        group["rejected"] += outcome == "rejected"
    return [{"year": year, "half": half, "authority_country": country, "process": process, **group,
             "clients": len(group["clients"])}
            for (year, half, country, process), group in sorted(groups.items(), key=lambda kv: (
                -kv[0][0], -kv[0][1], kv[0][2], kv[0][3]))]


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
    for counts in transparency_counts(today=today):
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
