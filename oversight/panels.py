"""The dashboard's panels: for each chart, its title, the SVG geometry, the table under it and the CSV rows.

Each panel calls one selector (a fixed number of queries) and shapes the same rows three ways, so the chart, the
table and the download never disagree. CSV column names are keys for spreadsheets, the same in every language.
"""

from dataclasses import dataclass
from datetime import date
from typing import Callable

from django.utils.translation import gettext as _

from . import charts, selectors


@dataclass
class Panel:
    slug: str
    title: str
    intro: str
    chart: charts.Chart | None
    columns: list[str]
    rows: list[list]  # the table: the first cell of a row is its header cell
    csv_header: list[str]
    csv_rows: list[list]
    empty: str = ""


def _week_short(week: date) -> str:
    return week.strftime("%m-%d")


def _week_full(week: date) -> str:
    return _("Week of %(monday)s") % {"monday": week.isoformat()}


def _percent(value: int | None) -> str:
    return "" if value is None else f"{value}%"


def consent_rates_panel(today: date | None = None, activity=None) -> Panel:
    rates = selectors.consent_rates(today, activity=activity)
    shown = [rate for rate in rates if rate.clients]
    chart = charts.bar_chart(
        slug="consent-rates", title=_("Clients granted now, per purpose (%)"), categories=[r.title for r in shown],
        series=[_("Granted")], values=[[r.percent] for r in shown], top=100, unit="%") if shown else None
    return Panel(
        "consent-rates", _("Consent rates per purpose"),
        _("The share of clients with a recorded choice for a purpose who have it granted today, and the grants and "
          "withdrawals recorded for it in the last 12 weeks (not counting the defaults recorded at sign-up). The "
          "week-by-week changes are in the next chart."),
        chart,
        [_("Purpose"), _("Clients granted"), _("Clients with a recorded choice"), _("Granted share"),
         _("Grants, last 12 weeks"), _("Withdrawals, last 12 weeks")],
        [[r.title, r.granted, r.clients, _percent(r.percent), r.grants, r.withdrawals] for r in rates],
        ["purpose_code", "purpose", "clients_granted", "clients_with_choice", "granted_percent", "grants_12_weeks",
         "withdrawals_12_weeks"],
        [[r.code, r.title, r.granted, r.clients, "" if r.percent is None else r.percent, r.grants, r.withdrawals]
         for r in rates],
        empty=_("No client has a recorded choice yet."))


def consent_changes_panel(today: date | None = None, activity=None) -> Panel:
    weeks = selectors.weeks_shown(today)
    changes = selectors.consent_changes(today, activity=activity)
    totals = {week: [0, 0] for week in weeks}
    for change in changes:
        if change.week in totals:
            totals[change.week][0] += change.grants
            totals[change.week][1] += change.withdrawals
    chart = charts.line_chart(
        slug="consent-changes", title=_("Grants and withdrawals recorded per week, all purposes"),
        categories=[(_week_short(w), _week_full(w)) for w in weeks], series=[_("Grants"), _("Withdrawals")],
        values=[totals[w] for w in weeks])
    return Panel(
        "consent-changes", _("Consent changes per week"),
        _("Every grant and withdrawal recorded in each of the last 12 weeks, whatever the channel, without the "
          "defaults recorded at sign-up. The CSV has the same numbers per purpose."),
        chart, [_("Week"), _("Grants"), _("Withdrawals")],
        [[_week_full(w), *totals[w]] for w in weeks],
        ["week_starting", "purpose_code", "purpose", "grants", "withdrawals"],
        [[c.week.isoformat(), c.purpose_code, c.purpose_title, c.grants, c.withdrawals] for c in changes])


def opt_outs_panel(today: date | None = None, activity=None) -> Panel:
    weeks = selectors.opt_outs_per_channel(today, activity=activity)
    keys = [*selectors.OPT_OUT_CHANNELS, selectors.OTHER_CHANNELS]
    labels = [selectors.channel_label(k) for k in keys]
    chart = charts.column_chart(
        slug="opt-outs", title=_("Withdrawals per week, by channel"),
        categories=[(_week_short(w.week), _week_full(w.week)) for w in weeks], series=labels,
        values=[[w.counts[k] for k in keys] for w in weeks])
    return Panel(
        "opt-outs", _("Opt-outs per channel"),
        _("Withdrawals of consent recorded per week: in the portal, by a Global Privacy Control signal, by e-mail or "
          "letter (entered by staff), and by other staff channels (staff, CSV import, API)."),
        chart, [_("Week"), *labels, _("Total")],
        [[_week_full(w.week), *[w.counts[k] for k in keys], w.total] for w in weeks],
        ["week_starting", *[str(k) for k in keys], "total"],
        [[w.week.isoformat(), *[w.counts[k] for k in keys], w.total] for w in weeks])


def sharing_panel(today: date | None = None) -> Panel:
    volumes = selectors.sharing_per_affiliate(today)
    chart = charts.bar_chart(
        slug="sharing", title=_("Client records shared per recipient, last 12 weeks"),
        categories=[v.recipient for v in volumes], series=[_("Records")],
        values=[[v.records] for v in volumes]) if volumes else None
    return Panel(
        "sharing", _("Sharing volume per affiliate"),
        _("Sharing records written in the last 12 weeks: one per client whose data left Fulfillmen in a response, "
          "per recipient."),
        chart, [_("Recipient"), _("Records"), _("Different clients")],
        [[v.recipient, v.records, v.clients] for v in volumes],
        ["recipient", "is_affiliate", "records", "clients"],
        [[v.recipient, "yes" if v.is_affiliate else "no", v.records, v.clients] for v in volumes],
        empty=_("No client data was shared in the last 12 weeks."))


def requests_due_panel(today: date | None = None) -> Panel:
    buckets = selectors.open_requests_by_due(today)
    short = {"overdue": _("Overdue"), "week-1": _("0–6 d"), "week-2": _("7–13 d"), "week-3": _("14–20 d"),
             "week-4": _("21–27 d"), "later": _("28+ d")}
    chart = charts.column_chart(
        slug="requests-due", title=_("Open requests by due date"),
        categories=[(short[b.bucket], b.label) for b in buckets], series=[_("Open"), _("In progress")],
        values=[[b.open, b.in_progress] for b in buckets], slot=84)
    return Panel(
        "requests-due", _("Open requests by due date"),
        _("Data-subject requests awaiting an answer (open or in progress), by their due date, or the extended date "
          "where the deadline was extended."),
        chart, [_("Due"), _("Open"), _("In progress"), _("Total")],
        [[b.label, b.open, b.in_progress, b.total] for b in buckets],
        ["due", "open", "in_progress", "total"],
        [[b.bucket, b.open, b.in_progress, b.total] for b in buckets])


def notices_panel(today: date | None = None) -> Panel:
    version = selectors.latest_policy_version()
    progress = selectors.notice_progress(version)
    states = selectors.DELIVERY_STATES
    labels = [selectors.delivery_state_label(s) for s in states]
    label = version.label if version else ""
    chart = charts.bar_chart(
        slug="notices", title=_("Notices of version %(label)s per channel") % {"label": label},
        categories=[p.label for p in progress], series=labels,
        values=[[p.counts[s] for s in states] for p in progress]) if any(p.total for p in progress) else None
    return Panel(
        "notices", _("Notice delivery, version %(label)s") % {"label": label} if version else _("Notice delivery"),
        _("How far the notices of the latest published policy version have gone, per channel (reminders not "
          "included). An SMS is skipped when there is no mobile number on file."),
        chart, [_("Channel"), *labels, _("Total"), _("Finished")],
        [[p.label, *[p.counts[s] for s in states], p.total, _percent(p.finished_percent)] for p in progress],
        ["version", "channel", *states, "total", "finished_percent"],
        [[label, p.channel, *[p.counts[s] for s in states], p.total,
          "" if p.finished_percent is None else p.finished_percent] for p in progress],
        empty=_("No notice has been created yet.") if version else _("No policy version is published yet."))


def disclosures_panel(today: date | None = None) -> Panel:
    counts = selectors.disclosures_by_status()
    chart = charts.column_chart(
        slug="disclosures", title=_("Disclosures by status"), categories=[(c.label, c.label) for c in counts],
        series=[_("Disclosures")], values=[[c.count] for c in counts], slot=96)
    return Panel(
        "disclosures", _("Disclosures by status"),
        _("Every request from an authority or claimant recorded so far, by where it stands now."),
        chart, [_("Status"), _("Disclosures")], [[c.label, c.count] for c in counts],
        ["status", "disclosures"], [[c.status, c.count] for c in counts])


PANELS: dict[str, Callable[..., Panel]] = {
    "consent-rates": consent_rates_panel,
    "consent-changes": consent_changes_panel,
    "opt-outs": opt_outs_panel,
    "sharing": sharing_panel,
    "requests-due": requests_due_panel,
    "notices": notices_panel,
    "disclosures": disclosures_panel,
}

CONSENT_PANELS = {"consent-rates", "consent-changes", "opt-outs"}


def all_panels(today: date | None = None) -> list[Panel]:
    """Every panel; the three consent panels share one count of the ledger."""
    activity = selectors.consent_activity(today)
    return [build(today, activity) if slug in CONSENT_PANELS else build(today) for slug, build in PANELS.items()]
