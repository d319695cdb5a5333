"""The numbers behind the privacy dashboard: one function per chart, each a fixed number of grouped queries.

Everything is counted in SQL (GROUP BY, COUNT … FILTER, date_trunc): no function loops over clients, so the page
costs the same number of statements with ten clients or a million. Weeks start on Monday in the portal's time zone;
"the last 12 weeks" are the current week and the eleven before it.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Case, CharField, Count, Q, Value, When
from django.db.models.functions import Coalesce, TruncWeek
from django.utils import timezone
from django.utils.translation import gettext as _

from amendments.models import NoticeDelivery, PolicyVersion
from consent.models import Channel, ConsentAction, ConsentEvent, ConsentState, Purpose
from disclosures.models import Disclosure
from disclosures.selectors import withheld_q
from rights.models import DataSubjectRequest
from rights.retention.enforce import last_retention_run
from rights.services import AWAITING
from sharing.models import SharingRecord

WEEKS = 12


def weeks_shown(today: date | None = None) -> list[date]:
    """The Mondays of the last WEEKS weeks, oldest first."""
    today = today or timezone.localdate()
    this_monday = today - timedelta(days=today.weekday())
    return [this_monday - timedelta(weeks=n) for n in range(WEEKS - 1, -1, -1)]


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _week_of(value) -> date:
    return timezone.localtime(value).date() if isinstance(value, datetime) else value


# --- Consent: current share per purpose, and changes per week -----------------------------------------------------


@dataclass(frozen=True)
class Activity:
    """Consent choices recorded in one week, for one purpose, through one channel."""
    week: date
    purpose_id: int
    channel: str
    grants: int
    withdrawals: int


def consent_activity(today: date | None = None) -> list[Activity]:
    """The consent events of the last 12 weeks, counted per week, purpose and channel: ONE scan of the ledger, which
    the three consent charts share. The defaults that sign-up records are left out: nobody chose them."""
    since = _start_of(weeks_shown(today)[0])
    rows = (ConsentEvent.objects.filter(recorded_at__gte=since).exclude(channel=Channel.SIGNUP)
            .annotate(week=TruncWeek("recorded_at")).values("week", "purpose_id", "channel")
            .annotate(grants=Count("pk", filter=Q(action=ConsentAction.GRANT)),
                      withdrawals=Count("pk", filter=Q(action=ConsentAction.WITHDRAW))).order_by())
    return [Activity(_week_of(r["week"]), r["purpose_id"], r["channel"], r["grants"], r["withdrawals"]) for r in rows]


@dataclass(frozen=True)
class PurposeRate:
    code: str
    title: str
    granted: int
    clients: int  # clients with a current state for the purpose
    grants: int  # grants recorded in the last 12 weeks
    withdrawals: int

    @property
    def percent(self) -> int | None:
        return round(100 * self.granted / self.clients) if self.clients else None


def consent_rates(today: date | None = None, *, activity: list[Activity] | None = None) -> list[PurposeRate]:
    """Per purpose: clients granted now out of those with a state, and the grants/withdrawals of the last 12 weeks."""
    activity = consent_activity(today) if activity is None else activity
    states = {row["purpose_id"]: row for row in ConsentState.objects.values("purpose_id").annotate(
        granted=Count("pk", filter=Q(granted=True)), clients=Count("pk")).order_by()}
    changes: dict[int, list[int]] = {}
    for row in activity:
        total = changes.setdefault(row.purpose_id, [0, 0])
        total[0] += row.grants
        total[1] += row.withdrawals
    return [PurposeRate(p.code, p.title, states.get(p.pk, {}).get("granted", 0), states.get(p.pk, {}).get("clients", 0),
                        *changes.get(p.pk, [0, 0]))
            for p in Purpose.objects.filter(pk__in=set(states) | set(changes))]


@dataclass(frozen=True)
class WeeklyChange:
    week: date
    purpose_code: str
    purpose_title: str
    grants: int
    withdrawals: int


def consent_changes(today: date | None = None, *, activity: list[Activity] | None = None) -> list[WeeklyChange]:
    """Grants and withdrawals recorded per week and purpose, oldest week first (weeks without any are left out)."""
    activity = consent_activity(today) if activity is None else activity
    totals: dict[tuple[date, int], list[int]] = {}
    for row in activity:
        total = totals.setdefault((row.week, row.purpose_id), [0, 0])
        total[0] += row.grants
        total[1] += row.withdrawals
    purposes = {p.pk: p for p in Purpose.objects.filter(pk__in={purpose_id for __, purpose_id in totals})}
    order = {pk: index for index, pk in enumerate(purposes)}  # the catalogue's order (Purpose.Meta.ordering)
    return [WeeklyChange(week, purposes[purpose_id].code, purposes[purpose_id].title, *counts)
            for (week, purpose_id), counts in sorted(totals.items(), key=lambda item: (item[0][0], order[item[0][1]]))]


# --- Opt-outs per channel --------------------------------------------------------------------------------------------

OPT_OUT_CHANNELS = [Channel.PORTAL, Channel.GPC, Channel.DO_NOT_SELL, Channel.EMAIL, Channel.LETTER]
OTHER_CHANNELS = "other"


def channel_label(channel: str) -> str:
    return _("Other (staff, import, API)") if channel == OTHER_CHANNELS else str(Channel(channel).label)


@dataclass(frozen=True)
class OptOutWeek:
    week: date
    counts: dict  # channel (or "other") -> withdrawals recorded that week

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def opt_outs_per_channel(today: date | None = None, *, activity: list[Activity] | None = None) -> list[OptOutWeek]:
    """Withdrawals recorded per week and channel, one row for each of the last 12 weeks."""
    activity = consent_activity(today) if activity is None else activity
    weeks = weeks_shown(today)
    keys = [*OPT_OUT_CHANNELS, OTHER_CHANNELS]
    table = {week: dict.fromkeys(keys, 0) for week in weeks}
    for row in activity:
        if row.week in table:
            table[row.week][row.channel if row.channel in OPT_OUT_CHANNELS else OTHER_CHANNELS] += row.withdrawals
    return [OptOutWeek(week, table[week]) for week in weeks]


# --- Sharing volume per affiliate ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SharingVolume:
    recipient: str
    is_affiliate: bool
    records: int
    clients: int


def sharing_per_affiliate(today: date | None = None) -> list[SharingVolume]:
    """Records written (= client data sent) in the last 12 weeks per affiliate; other recipients (authorities a
    disclosure went to) in one row. Largest first. A withheld disclosure's records are left out until released:
    the dashboard is for privacy officers, and only Legal may know of it."""
    since = _start_of(weeks_shown(today)[0])
    rows = (SharingRecord.objects.filter(shared_at__gte=since)
            .exclude(withheld_until__gt=today or timezone.localdate())
            .values("affiliate_id", "affiliate__name")
            .annotate(records=Count("pk"), clients=Count("client_id", distinct=True)).order_by())
    volumes = sorted((SharingVolume(r["affiliate__name"], True, r["records"], r["clients"])
                      for r in rows if r["affiliate_id"]), key=lambda v: (-v.records, v.recipient))
    others = [SharingVolume(_("Other recipients (authorities)"), False, r["records"], r["clients"])
              for r in rows if not r["affiliate_id"]]
    return volumes + others


# --- Open requests by due date ---------------------------------------------------------------------------------------

DUE_BUCKETS = ["overdue", "week-1", "week-2", "week-3", "week-4", "later"]


def due_bucket_label(bucket: str) -> str:
    return {"overdue": _("Overdue"), "week-1": _("Due in 0–6 days"), "week-2": _("Due in 7–13 days"),
            "week-3": _("Due in 14–20 days"), "week-4": _("Due in 21–27 days"), "later": _("Due in 28 days or more")}[bucket]


@dataclass(frozen=True)
class DueBucket:
    bucket: str
    open: int
    in_progress: int

    @property
    def label(self) -> str:
        return due_bucket_label(self.bucket)

    @property
    def total(self) -> int:
        return self.open + self.in_progress


def open_requests_by_due(today: date | None = None) -> list[DueBucket]:
    """Requests awaiting an answer (open or in progress, as in the admin queue), by their effective due date
    (the extension if any): overdue, then due within each of the next four weeks, then later. One grouped query."""
    today = today or timezone.localdate()
    due = Coalesce("extended_to", "due_on")
    bucket = Case(When(due__lt=today, then=Value("overdue")),
                  *[When(due__lt=today + timedelta(weeks=n), then=Value(f"week-{n}")) for n in range(1, 5)],
                  default=Value("later"), output_field=CharField())
    Status = DataSubjectRequest.Status
    counted = {row["bucket"]: row for row in DataSubjectRequest.objects.filter(status__in=AWAITING)
               .annotate(due=due).values(bucket=bucket)
               .annotate(open=Count("pk", filter=Q(status=Status.OPEN)),
                         in_progress=Count("pk", filter=Q(status=Status.IN_PROGRESS))).order_by()}
    return [DueBucket(name, counted.get(name, {}).get("open", 0), counted.get(name, {}).get("in_progress", 0))
            for name in DUE_BUCKETS]


# --- Notice delivery progress for the latest policy version ----------------------------------------------------------

DELIVERY_STATES = ["sent", "skipped", "failed", "pending"]


def delivery_state_label(state: str) -> str:
    return _("Queued or being sent") if state == "pending" else str(NoticeDelivery.Status(state).label)


@dataclass(frozen=True)
class ChannelProgress:
    channel: str
    label: str
    counts: dict  # one of DELIVERY_STATES -> deliveries

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def finished_percent(self) -> int | None:
        return round(100 * (self.total - self.counts["pending"]) / self.total) if self.total else None


def latest_policy_version() -> PolicyVersion | None:
    """The latest published version, as the admin's publish page finds it."""
    return (PolicyVersion.objects.filter(published_at__isnull=False).only("pk", "label")
            .order_by("-effective_at", "-id").first())


def notice_progress(version: PolicyVersion | None) -> list[ChannelProgress]:
    """Notices (not reminders) of `version` per channel and where they stand, from one grouped query."""
    if version is None:
        return []
    counted = {(r["channel"], r["status"]): r["n"] for r in NoticeDelivery.objects
               .filter(version=version, kind=NoticeDelivery.Kind.NOTICE)
               .values("channel", "status").annotate(n=Count("pk")).order_by()}
    Status = NoticeDelivery.Status
    rows = []
    for channel, label in NoticeDelivery.Channel.choices:
        counts = {state: counted.get((channel, state), 0) for state in DELIVERY_STATES if state != "pending"}
        counts["pending"] = counted.get((channel, Status.QUEUED), 0) + counted.get((channel, Status.CLAIMED), 0)
        rows.append(ChannelProgress(channel, str(label), counts))
    return rows


# --- Disclosures by status -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusCount:
    status: str
    label: str
    count: int


def disclosures_by_status() -> list[StatusCount]:
    """Every disclosure ever recorded, per current status, in the workflow's order; withheld ones are Legal's alone."""
    counted = dict(Disclosure.objects.exclude(withheld_q()).values("status").annotate(n=Count("pk")).order_by()
                   .values_list("status", "n"))
    return [StatusCount(value, str(label), counted.get(value, 0)) for value, label in Disclosure.Status.choices]


# --- Retention ------------------------------------------------------------------------------------------------------

RETENTION_STALE_AFTER = timedelta(hours=48)  # the job runs daily: two days without a run means beat is not running


@dataclass(frozen=True)
class RetentionStatus:
    finished_at: datetime | None
    deleted: int = 0
    anonymised: int = 0
    erased: int = 0
    warned: int = 0
    held: int = 0
    failed: int = 0
    stale: bool = True


def retention_status(now: datetime | None = None) -> RetentionStatus:
    """The last retention run's totals (one query), and whether the daily job seems to have stopped."""
    run = last_retention_run()
    if run is None:
        return RetentionStatus(None)
    done = {action: sum(int(c.get("done", 0)) for c in run.counts.values() if c.get("action") == action)
            for action in ("delete", "anonymise", "erase", "warn")}
    # A held dormant client is counted by the erasure and by the warning it is not sent: once here.
    held = sum(int(c.get("held", 0)) for c in run.counts.values() if c.get("action") != "warn")
    return RetentionStatus(run.finished_at, deleted=done["delete"], anonymised=done["anonymise"], erased=done["erase"],
                           warned=done["warn"], held=held, failed=run.total("failed"),
                           stale=run.finished_at < (now or timezone.now()) - RETENTION_STALE_AFTER)
