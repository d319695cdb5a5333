"""Partner engagements imported from a CSV export of the orders/WMS side (issue #18), the pattern of consent/imports.py:
the preview says what each row would do, with its errors; applying runs the same checks again and applies only the
valid rows; importing the same file again records nothing new (an engagement is keyed by partner and order).
"""

import csv
import io
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.core.exceptions import ValidationError
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from accounts.models import Client, User

from .engagements import Outcome, engagement_errors, engagement_record
from .models import Affiliate, PartnerEngagement

HEADER = ["partner", "client", "order_reference", "started", "ended"]
MAX_ROWS = 10_000


class RowStatus:
    CREATE = "create"
    END = "end"
    ALREADY = "already"
    ERROR = "error"


@dataclass
class EngagementRow:
    line: int
    values: list[str]
    status: str = RowStatus.CREATE
    errors: list[str] = field(default_factory=list)
    affiliate: Affiliate | None = None
    client: Client | None = None
    order_reference: str = ""
    started_at: datetime | None = None
    ended_at: datetime | None = None

    @property
    def message(self) -> str:
        if self.errors:
            return "; ".join(self.errors)
        return {RowStatus.CREATE: _("will record the engagement"), RowStatus.END: _("will record its end"),
                RowStatus.ALREADY: _("already recorded — nothing to do")}[self.status]

    @property
    def cells(self) -> list[str]:
        return (self.values + [""] * len(HEADER))[: len(HEADER)]

    @property
    def is_valid(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class ImportSummary:
    created: int
    ended: int
    already_recorded: int
    skipped: int
    errors: list[str]


def _rows(text: str) -> list[tuple[int, list[str]]]:
    if "\x00" in text:
        raise ValidationError(_("The file is not a valid CSV file (line %(line)s: %(error)s).")
                              % {"line": text[:text.index("\x00")].count("\n") + 1, "error": "NUL character"})
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader, None)
        if header is None:
            raise ValidationError(_("The file is empty."))
        if [cell.strip().lower() for cell in header] != HEADER:
            raise ValidationError(_("The first line must be the header “%(expected)s”; the file has “%(found)s”.")
                                  % {"expected": ",".join(HEADER), "found": ",".join(header)[:200]})
        rows = []
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue
            if len(rows) == MAX_ROWS:
                raise ValidationError(_("The file has more than %(max)s rows. Split it into smaller files.")
                                      % {"max": f"{MAX_ROWS:,}"})
            rows.append((reader.line_num, [cell.strip() for cell in cells]))
    except csv.Error as exc:
        raise ValidationError(_("The file is not a valid CSV file (line %(line)s: %(error)s).")
                              % {"line": reader.line_num, "error": exc}) from exc
    if not rows:
        raise ValidationError(_("The file has a header but no rows."))
    return rows


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _moment(value: str) -> datetime | None:
    """`YYYY-MM-DD` (midnight, local time) or an ISO 8601 date and time (local time without an offset)."""
    try:
        if len(value) == 10:
            return timezone.make_aware(datetime.combine(date.fromisoformat(value), time.min))
        parsed = parse_datetime(value)
    except ValueError:
        return None
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def _lookups(rows) -> tuple[dict, dict]:
    """Every partner (by name or id) and client (by e-mail or id) the file names: four queries in all."""
    partners, clients = {}, {}
    names = {cells[0] for _l, cells in rows if cells}
    for affiliate in Affiliate.objects.filter(public_id__in={u for u in map(_as_uuid, names) if u}):
        partners[str(affiliate.public_id)] = affiliate
    for affiliate in Affiliate.objects.filter(name__in=names):
        partners[affiliate.name] = affiliate
    values = {cells[1] for _l, cells in rows if len(cells) > 1}
    for client in Client.objects.filter(public_id__in={u for u in map(_as_uuid, values) if u}):
        clients[str(client.public_id)] = client
    emails = {v.lower() for v in values if v and not _as_uuid(v)}
    for client in Client.objects.annotate(email_lower=Lower("email")).filter(email_lower__in=emails):
        clients[client.email_lower] = client
    return partners, clients


def _check_row(line: int, cells: list[str], *, partners, clients, now) -> EngagementRow:
    row = EngagementRow(line=line, values=cells)
    if len(cells) != len(HEADER):
        row.errors.append(_("%(found)s columns instead of %(expected)s") % {"found": len(cells), "expected": len(HEADER)})
        return row
    partner, client, row.order_reference, started, ended = cells
    as_id = _as_uuid(partner)
    row.affiliate = partners.get(str(as_id) if as_id else partner)
    if row.affiliate is None:
        row.errors.append(_("unknown partner “%(value)s”") % {"value": partner})
    as_id = _as_uuid(client)
    row.client = clients.get(str(as_id) if as_id else client.lower())
    if row.client is None:
        row.errors.append(_("unknown client “%(value)s”") % {"value": client})
    row.started_at = _moment(started)
    if row.started_at is None:
        row.errors.append(_("bad start “%(value)s” (expected YYYY-MM-DD or an ISO 8601 time)") % {"value": started})
    if ended:
        row.ended_at = _moment(ended)
        if row.ended_at is None:
            row.errors.append(_("bad end “%(value)s” (expected YYYY-MM-DD or an ISO 8601 time)") % {"value": ended})
    row.errors += engagement_errors(affiliate=row.affiliate, client=row.client, order_reference=row.order_reference,
                                    started_at=row.started_at, ended_at=row.ended_at, now=now)
    return row


def _against_recorded(row: EngagementRow, existing: PartnerEngagement | None) -> None:
    if existing is None:
        return
    if existing.client_id != row.client.pk:
        row.errors.append(_("order already recorded for another client"))
    elif existing.started_at != row.started_at:
        row.errors.append(_("order already recorded with another start (%(start)s)")
                          % {"start": timezone.localtime(existing.started_at).isoformat()})
    elif row.ended_at is None or existing.ended_at == row.ended_at:
        row.status = RowStatus.ALREADY
    elif existing.ended_at is not None:
        row.errors.append(_("order already ended at %(end)s; a recorded end is not changed")
                          % {"end": timezone.localtime(existing.ended_at).isoformat()})
    else:
        row.status = RowStatus.END


def engagement_import_preview(*, text: str) -> list[EngagementRow]:
    """What applying `text` would do, row by row. Raises ValidationError for a file-level problem."""
    rows = _rows(text)
    partners, clients = _lookups(rows)
    now = timezone.now()
    outcomes = [_check_row(line, cells, partners=partners, clients=clients, now=now) for line, cells in rows]
    first_line: dict[tuple, int] = {}
    for row in outcomes:
        if row.is_valid:
            key = (row.affiliate.pk, row.order_reference)
            if key in first_line:
                row.errors.append(_("duplicate of line %(line)s") % {"line": first_line[key]})
            else:
                first_line[key] = row.line
    recorded = {(e.affiliate_id, e.order_reference): e for e in PartnerEngagement.objects.filter(
        affiliate_id__in={a for a, _o in first_line}, order_reference__in={o for _a, o in first_line})}
    for row in outcomes:
        if row.is_valid:
            _against_recorded(row, recorded.get((row.affiliate.pk, row.order_reference)))
        if not row.is_valid:
            row.status = RowStatus.ERROR
    return outcomes


def preview_counts(outcomes: list[EngagementRow]) -> Counter:
    return Counter(row.status for row in outcomes)


def engagement_import_apply(*, text: str, recorded_by: User) -> ImportSummary:
    """Record each valid row of `text` through `engagement_record` (each its own transaction); rows with errors are
    never applied, and a file interrupted half-way is finished by importing it again."""
    outcomes = engagement_import_preview(text=text)
    counts = Counter()
    errors = [f"{row.line}: {row.message}" for row in outcomes if not row.is_valid]
    for row in outcomes:
        if not row.is_valid:
            continue
        try:
            _engagement, outcome = engagement_record(
                affiliate=row.affiliate, client=row.client, order_reference=row.order_reference,
                started_at=row.started_at, ended_at=row.ended_at, source=PartnerEngagement.Source.CSV,
                recorded_by=recorded_by)
        except ValidationError as exc:
            errors.append(f"{row.line}: {' '.join(exc.messages)}")
            continue
        counts[outcome] += 1
    return ImportSummary(created=counts[Outcome.CREATED], ended=counts[Outcome.ENDED],
                         already_recorded=counts[Outcome.UNCHANGED], skipped=len(errors), errors=errors)
