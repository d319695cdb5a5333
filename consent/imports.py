"""Opt-outs received by email or letter, imported from a CSV file that staff keep of them.

GDPR Art. 7(3) and PIPL Art. 15: a withdrawal counts however it reaches us. Each valid row becomes one
`withdraw` event through `consent_record`, attributed to the staff member, with the letter's or email's reference
and date as evidence. Each row's idempotency key is derived from its content, so importing the same file again
records nothing new. The preview and the apply step run the same validation: nothing from a preview is trusted.
"""

import csv
import hashlib
import io
import json
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.core.exceptions import ValidationError
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Client, User

from .models import Channel, ConsentAction, ConsentEvent, LegalBasis, Purpose
from .services import Evidence, consent_record

HEADER = ["client", "purpose", "channel", "received", "reference"]
MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 10_000
CHANNELS = {Channel.EMAIL.value, Channel.LETTER.value}
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class RowStatus:
    WITHDRAW = "withdraw"
    ALREADY = "already"
    ERROR = "error"


@dataclass
class RowOutcome:
    line: int
    values: list[str]
    status: str = RowStatus.WITHDRAW
    errors: list[str] = field(default_factory=list)
    client: Client | None = None
    purpose: Purpose | None = None
    channel: str = ""
    received_on: date | None = None
    reference: str = ""
    idempotency_key: str = ""

    @property
    def message(self) -> str:
        if self.errors:
            return "; ".join(self.errors)
        if self.status == RowStatus.ALREADY:
            return _("already recorded — nothing to do")
        return _("will withdraw")

    @property
    def cells(self) -> list[str]:
        """The row's values in the header's five columns (padded or cut) for display."""
        return (self.values + [""] * len(HEADER))[: len(HEADER)]

    @property
    def is_valid(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class ImportSummary:
    applied: int
    already_recorded: int
    skipped: int
    errors: list[str]


def consent_import_decode(*, data: bytes) -> str:
    """The uploaded bytes as text, or one clear file-level error."""
    if len(data) > MAX_BYTES:
        raise ValidationError(_("The file is larger than 2 MB. Split it into smaller files and import each one."))
    try:
        text = data.decode("utf-8-sig")  # spreadsheets save "CSV UTF-8" with a byte-order mark
    except UnicodeDecodeError as exc:
        raise ValidationError(_("The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again.")) from exc
    if not text.strip():
        raise ValidationError(_("The file is empty."))
    return text


def _rows(text: str) -> list[tuple[int, list[str]]]:
    """(line number, cells) per non-blank data row, after checking the header; file-level errors raise."""
    if "\x00" in text:  # a binary file that happens to decode; the database could not store such a row anyway
        raise ValidationError(_("The file is not a valid CSV file (line %(line)s: %(error)s).")
                              % {"line": text[:text.index("\x00")].count("\n") + 1, "error": "NUL character"})
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader, None)
        if header is None:
            raise ValidationError(_("The file is empty."))
        found = [cell.strip().lower() for cell in header]
        if found != HEADER:
            raise ValidationError(
                _("The first line must be the header “%(expected)s”; the file has “%(found)s”.")
                % {"expected": ",".join(HEADER), "found": ",".join(header)[:200]}
            )
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


def import_idempotency_key(*, client: Client, purpose: Purpose, channel: str, received_on: date, reference: str) -> str:
    parts = ["csv-import", str(client.public_id), purpose.code, channel, received_on.isoformat(), reference]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _clients_by_reference(values: list[str]) -> dict[str, Client]:
    """Every client the file names, by lower-cased email and by public id: two queries whatever the row count."""
    ids = {u for u in map(_as_uuid, values) if u}
    emails = {v.lower() for v in values if v and not _as_uuid(v)}
    found = {}
    for client in Client.objects.filter(public_id__in=ids):
        found[str(client.public_id)] = client
    for client in Client.objects.annotate(email_lower=Lower("email")).filter(email_lower__in=emails):
        found[client.email_lower] = client
    return found


def _lookup_client(value: str, clients: dict[str, Client]) -> Client | None:
    as_id = _as_uuid(value)
    return clients.get(str(as_id)) if as_id else clients.get(value.lower())


def _check_purpose(row: RowOutcome, code: str, purposes: dict[str, Purpose]) -> None:
    purpose = purposes.get(code)
    if not code:
        row.errors.append(_("missing purpose"))
    elif purpose is None:
        row.errors.append(_("unknown purpose “%(code)s”") % {"code": code})
    elif purpose.legal_basis != LegalBasis.CONSENT:
        row.errors.append(_("“%(code)s” does not rest on consent, so there is nothing to withdraw") % {"code": code})
    elif not purpose.withdrawable:
        row.errors.append(_("purpose “%(code)s” cannot be withdrawn") % {"code": code})
    else:
        row.purpose = purpose


def _check_date(row: RowOutcome, value: str, today: date) -> None:
    try:
        received = date.fromisoformat(value) if ISO_DATE.match(value) else None
    except ValueError:
        received = None
    if received is None:
        row.errors.append(_("bad date “%(value)s” (expected YYYY-MM-DD)") % {"value": value})
    elif received > today:
        row.errors.append(_("date %(value)s is in the future") % {"value": value})
    else:
        row.received_on = received


def _check_row(line: int, cells: list[str], *, clients, purposes, today: date) -> RowOutcome:
    row = RowOutcome(line=line, values=cells)
    if len(cells) != len(HEADER):
        problem = _("too many columns") if len(cells) > len(HEADER) else _("too few columns")
        row.errors.append(_("%(problem)s (%(found)s instead of %(expected)s)")
                          % {"problem": problem, "found": len(cells), "expected": len(HEADER)})
        return row
    client_value, code, channel, received, reference = cells
    row.client = _lookup_client(client_value, clients) if client_value else None
    if not client_value:
        row.errors.append(_("missing client"))
    elif row.client is None:
        row.errors.append(_("unknown client “%(value)s”") % {"value": client_value})
    elif row.client.erased_at:  # nobody is left to withdraw: the row would append to an erased client's ledger
        row.errors.append(_("This client's data has already been erased."))
        row.client = None
    _check_purpose(row, code, purposes)
    row.channel = channel.lower()
    if row.channel not in CHANNELS:
        row.errors.append(_("bad channel “%(value)s” (expected email or letter)") % {"value": channel})
    _check_date(row, received, today)
    row.reference = reference
    if not reference:
        row.errors.append(_("missing reference"))
    elif len(reference) > 200:
        row.errors.append(_("reference longer than 200 characters"))
    return row


def consent_import_preview(*, text: str) -> list[RowOutcome]:
    """What applying `text` would do, row by row. Raises ValidationError for a file-level problem."""
    rows = _rows(text)
    clients = _clients_by_reference([cells[0] for _line, cells in rows if cells])
    purposes = {p.code: p for p in Purpose.objects.all()}
    today = timezone.localdate()
    outcomes = [_check_row(line, cells, clients=clients, purposes=purposes, today=today) for line, cells in rows]
    first_line = {}
    for row in outcomes:
        if not row.is_valid:
            continue
        row.idempotency_key = import_idempotency_key(client=row.client, purpose=row.purpose, channel=row.channel,
                                                     received_on=row.received_on, reference=row.reference)
        if row.idempotency_key in first_line:
            row.errors.append(_("duplicate of line %(line)s") % {"line": first_line[row.idempotency_key]})
        else:
            first_line[row.idempotency_key] = row.line
    recorded = set(ConsentEvent.objects.filter(idempotency_key__in=list(first_line)).values_list("idempotency_key", flat=True))
    for row in outcomes:
        if row.is_valid and row.idempotency_key in recorded:
            row.status = RowStatus.ALREADY
        elif not row.is_valid:
            row.status = RowStatus.ERROR
    return outcomes


def preview_counts(outcomes: list[RowOutcome]) -> Counter:
    return Counter(row.status for row in outcomes)


def _received_at(received_on: date) -> datetime:
    return timezone.make_aware(datetime.combine(received_on, time.min))


def consent_import_apply(*, text: str, recorded_by: User) -> ImportSummary:
    """Record a withdrawal for each valid row of `text`; rows with errors are never applied.

    Each row is its own transaction (inside `consent_record`), so a long file never holds many clients' chains
    locked at once; a file interrupted half-way is finished by importing it again.
    """
    outcomes = consent_import_preview(text=text)
    applied = already = 0
    errors = [f"{row.line}: {row.message}" for row in outcomes if not row.is_valid]
    for row in outcomes:
        if not row.is_valid:
            continue
        try:
            _event, created = consent_record(
                client=row.client, purpose=row.purpose, action=ConsentAction.WITHDRAW, channel=row.channel,
                occurred_at=_received_at(row.received_on), recorded_by=recorded_by,
                evidence=Evidence(reference=row.reference, received_on=row.received_on),
                idempotency_key=row.idempotency_key,
            )
        except ValidationError as exc:
            errors.append(f"{row.line}: {' '.join(exc.messages)}")
            continue
        if created:
            applied += 1
        else:
            already += 1
    return ImportSummary(applied=applied, already_recorded=already, skipped=len(errors), errors=errors)
