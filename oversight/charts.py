"""SVG geometry for the dashboard's charts: stacked columns, stacked horizontal bars and lines.

A builder takes categories (what the axis names), series (what the legend names) and one row of values per category,
and returns a `Chart`: every rectangle, line, point and text with its coordinates, ready for one template
(templates/oversight/includes/chart.html) to print. No style attribute anywhere (strict CSP): colours and patterns
come from oversight.css by the series' index, and a series is told apart by its pattern or marker too, not by its
colour alone. The numbers themselves are in the table under each chart.
"""

import math
from dataclasses import dataclass, field

LABEL_CHARS = 26  # category names longer than this are shortened in the SVG (the full name is in its <title>)
HATCH_ANGLES = (45, -45, 0, 90)
MARKER = 4  # half the side of a square point, the radius of a round one


@dataclass(frozen=True)
class Rect:
    x: str
    y: str
    width: str
    height: str
    series: int
    title: str


@dataclass(frozen=True)
class Text:
    x: str
    y: str
    text: str
    kind: str  # tick, label or value
    anchor: str = "middle"


@dataclass(frozen=True)
class Rule:
    x1: str
    y1: str
    x2: str
    y2: str
    kind: str  # grid or axis


@dataclass(frozen=True)
class Point:
    x: str
    y: str
    series: int
    title: str

    @property
    def square(self) -> bool:
        """Odd series are drawn as squares, even ones as circles: told apart by shape, not only by colour."""
        return self.series % 2 == 1

    @property
    def corner_x(self) -> str:
        return _n(float(self.x) - MARKER)

    @property
    def corner_y(self) -> str:
        return _n(float(self.y) - MARKER)


@dataclass(frozen=True)
class Polyline:
    points: str
    series: int


@dataclass
class Chart:
    slug: str
    title: str
    description: str
    width: int
    height: int
    series: list[str]
    rects: list[Rect] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    polylines: list[Polyline] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return "line" if self.polylines else "bar"

    @property
    def legend(self) -> list[tuple[int, str, int | None]]:
        """(index, name, hatch angle): even series are filled plain, odd ones hatched at an angle of their own."""
        return [(index, name, HATCH_ANGLES[index // 2 % len(HATCH_ANGLES)] if index % 2 else None)
                for index, name in enumerate(self.series)]


def _n(value: float) -> str:
    return f"{value:.1f}"


def _step(top: float) -> int:
    """A round tick step (1, 2 or 5 times a power of ten) giving about four ticks up to `top`."""
    raw = max(top / 4, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    return int(next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw))


def _scale_top(highest: float, top: float | None) -> tuple[float, int]:
    if top:
        return top, _step(top)
    step = _step(highest or 1)
    return step * max(1, math.ceil(highest / step)), step


def _short(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[:LABEL_CHARS - 1].rstrip() + "…"


def _describe(categories: list[str], series: list[str], values: list[list[float]], unit: str) -> str:
    parts = []
    for name, row in zip(categories, values, strict=True):
        cells = ", ".join(f"{label} {_value(v, unit)}" for label, v in zip(series, row, strict=True)) if len(series) > 1 \
            else _value(row[0], unit)
        parts.append(f"{name}: {cells}.")
    return " ".join(parts)


def _value(value: float, unit: str) -> str:
    return f"{value:g}{unit}"


# --- Stacked columns (one column per category, e.g. per week) ---------------------------------------------------------

COL_TOP, COL_BOTTOM, COL_LEFT, COL_RIGHT, COL_PLOT_HEIGHT = 24, 44, 48, 16, 200


def column_chart(*, slug: str, title: str, categories: list[tuple[str, str]], series: list[str],
                 values: list[list[int]], slot: int = 52) -> Chart:
    """`categories`: (short axis label, full name); `values[i][s]`: series s in category i, stacked bottom-up."""
    totals = [sum(row) for row in values]
    top, step = _scale_top(max(totals, default=0), None)
    width = COL_LEFT + len(categories) * slot + COL_RIGHT
    height = COL_TOP + COL_PLOT_HEIGHT + COL_BOTTOM
    chart = Chart(slug, title, _describe([full for __, full in categories], series, values, ""), width, height, series)

    def y(value):
        return COL_TOP + COL_PLOT_HEIGHT * (1 - value / top)

    for tick in range(0, int(top) + 1, step):
        chart.rules.append(Rule(str(COL_LEFT), _n(y(tick)), str(width - COL_RIGHT), _n(y(tick)), "grid"))
        chart.texts.append(Text(str(COL_LEFT - 8), _n(y(tick)), str(tick), "tick", "end"))
    bar = slot * 0.6
    for index, ((short, full), row) in enumerate(zip(categories, values, strict=True)):
        x = COL_LEFT + index * slot + (slot - bar) / 2
        level = 0
        for s, count in enumerate(row):
            if count:
                label = f"{full}: {series[s]} {count}" if len(series) > 1 else f"{full}: {count}"
                chart.rects.append(Rect(_n(x), _n(y(level + count)), _n(bar), _n(y(level) - y(level + count)), s, label))
                level += count
        chart.texts.append(Text(_n(x + bar / 2), _n(y(level) - 6), str(totals[index]), "value"))
        chart.texts.append(Text(_n(x + bar / 2), _n(y(0) + 20), short, "label"))
    chart.rules.append(Rule(str(COL_LEFT), _n(y(0)), str(width - COL_RIGHT), _n(y(0)), "axis"))
    return chart


# --- Stacked horizontal bars (one bar per named thing, e.g. per purpose) -----------------------------------------------

BAR_LABEL_WIDTH, BAR_PLOT_WIDTH, BAR_RIGHT, BAR_HEIGHT, BAR_GAP, BAR_TOP, BAR_BOTTOM = 190, 340, 64, 22, 12, 8, 28


def bar_chart(*, slug: str, title: str, categories: list[str], series: list[str], values: list[list[float]],
              top: float | None = None, unit: str = "") -> Chart:
    """`top`: the scale's end (100 for percentages); otherwise a round number above the longest bar."""
    totals = [sum(row) for row in values]
    top, step = _scale_top(max(totals, default=0), top)
    plot_bottom = BAR_TOP + len(categories) * (BAR_HEIGHT + BAR_GAP)
    width = BAR_LABEL_WIDTH + BAR_PLOT_WIDTH + BAR_RIGHT
    chart = Chart(slug, title, _describe(categories, series, values, unit), width, plot_bottom + BAR_BOTTOM, series)

    def x(value):
        return BAR_LABEL_WIDTH + BAR_PLOT_WIDTH * value / top

    for tick in range(0, int(top) + 1, step):
        chart.rules.append(Rule(_n(x(tick)), str(BAR_TOP - 4), _n(x(tick)), str(plot_bottom), "grid"))
        chart.texts.append(Text(_n(x(tick)), str(plot_bottom + 18), f"{tick}{unit}", "tick"))
    for index, (name, row) in enumerate(zip(categories, values, strict=True)):
        y = BAR_TOP + index * (BAR_HEIGHT + BAR_GAP) + BAR_GAP / 2
        level = 0
        for s, amount in enumerate(row):
            if amount:
                label = f"{name}: {series[s]} {_value(amount, unit)}" if len(series) > 1 else f"{name}: {_value(amount, unit)}"
                chart.rects.append(Rect(_n(x(level)), _n(y), _n(x(level + amount) - x(level)), str(BAR_HEIGHT), s, label))
                level += amount
        middle = _n(y + BAR_HEIGHT / 2)
        chart.texts.append(Text(str(BAR_LABEL_WIDTH - 8), middle, _short(name), "label", "end"))
        chart.texts.append(Text(_n(x(level) + 6), middle, _value(totals[index], unit), "value", "start"))
    chart.rules.append(Rule(str(BAR_LABEL_WIDTH), str(BAR_TOP - 4), str(BAR_LABEL_WIDTH), str(plot_bottom), "axis"))
    return chart


# --- Lines (one point per category and series, e.g. per week) ---------------------------------------------------------


def line_chart(*, slug: str, title: str, categories: list[tuple[str, str]], series: list[str],
               values: list[list[int]], slot: int = 52) -> Chart:
    top, step = _scale_top(max((v for row in values for v in row), default=0), None)
    width = COL_LEFT + len(categories) * slot + COL_RIGHT
    chart = Chart(slug, title, _describe([full for __, full in categories], series, values, ""), width,
                  COL_TOP + COL_PLOT_HEIGHT + COL_BOTTOM, series)

    def y(value):
        return COL_TOP + COL_PLOT_HEIGHT * (1 - value / top)

    for tick in range(0, int(top) + 1, step):
        chart.rules.append(Rule(str(COL_LEFT), _n(y(tick)), str(width - COL_RIGHT), _n(y(tick)), "grid"))
        chart.texts.append(Text(str(COL_LEFT - 8), _n(y(tick)), str(tick), "tick", "end"))
    centres = [COL_LEFT + index * slot + slot / 2 for index in range(len(categories))]
    for s, name in enumerate(series):
        coordinates = [(cx, y(row[s])) for cx, row in zip(centres, values, strict=True)]
        chart.polylines.append(Polyline(" ".join(f"{_n(px)},{_n(py)}" for px, py in coordinates), s))
        for (px, py), (__, full), row in zip(coordinates, categories, values, strict=True):
            chart.points.append(Point(_n(px), _n(py), s, f"{full}: {name} {row[s]}"))
    for cx, (short, __) in zip(centres, categories, strict=True):
        chart.texts.append(Text(_n(cx), _n(y(0) + 20), short, "label"))
    chart.rules.append(Rule(str(COL_LEFT), _n(y(0)), str(width - COL_RIGHT), _n(y(0)), "axis"))
    return chart
