"""Access and portability: a ZIP of everything held about a client, built by a task and e-mailed as a link that works
for 7 days and only for that client (GDPR Art. 15 and 20; PIPL Art. 45; CCPA 1798.110 and 1798.130).

The ZIP holds `data.json` (one structured document: every category of `rights.inventory` with its purpose, legal
basis, retention period and rows), one CSV per category for people, and a README. The file lives under MEDIA_ROOT and
is never served by a URL of its own: only the download view, which checks the owner and the expiry, reads it.

The Celery tasks live here (Celery autodiscovers `tasks` modules only): `rights.tasks` or the app config must import
this module so that workers know them.
"""

import csv
import hashlib
import io
import json
import logging
import tempfile
import time
import uuid
import zipfile
from datetime import date, datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, QuerySet
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from accounts.jurisdictions import storage_country, storage_location_label
from accounts.models import Client
from accounts.spreadsheet import spreadsheet_text
from notify.models import OutboundMessage
from notify.services import message_queue

from .inventory import CATEGORIES, EXCLUDED, purposes_by_code
from .models import DataExport, DataSubjectRequest
from .retention.enforce import rule_enforce
from .retention.rules import retention_rule
from .services import request_close, request_open

logger = logging.getLogger(__name__)

FORMAT = "fulfillmen-personal-data-export/1"
LINK_VALID_FOR = timedelta(days=7)
REQUEUE_BUILDING_AFTER = timedelta(minutes=10)
BUILDING = DataExport.Status.BUILDING


# --- the document and the archive -----------------------------------------------------------------------------------

def _plain(value):
    """A row value as data.json holds it: times in the portal's time zone with their offset."""
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _category_head(category, purposes: dict, count: int) -> dict:
    """A category as data.json describes it, without its rows (they come last: "rows")."""
    return {
        "title": str(category.title), "purpose": str(category.purpose),
        "uses": [{"code": code, "title": purposes[code].title} for code in category.purpose_codes if code in purposes],
        "legal_basis": category.legal_basis, "legal_basis_label": str(category.legal_basis_label),
        "retention": str(category.retention), "not_included": str(category.note),
        "columns": {key: str(label) for key, label in category.columns},
        "csv": f"{category.code}.csv", "count": count,
    }


def _document(*, client: Client, generated_at: datetime, categories: dict) -> dict:
    controller = settings.PII_CONTROLLER
    return {
        "format": FORMAT, "client_id": str(client.public_id), "generated_at": _plain(generated_at),
        "language": translation.get_language(),
        "controller": {"name": controller["name"], "email": controller["email"], "address": controller["address"]},
        # Where the data is stored; each sharing record says whether it went abroad and under which mechanism.
        "storage_location": {"country": storage_country(), "name": storage_location_label()},
        "categories": categories,
        "models_not_included": dict(EXCLUDED),
    }


def _plain_rows(category, client: Client):
    return ({key: _plain(value) for key, value in row.items()} for row in category.all_rows(client))


def export_document(*, client: Client, generated_at: datetime) -> dict:
    """data.json as one dict, every row in memory (for a look at it in code and tests; the archive streams the same
    document, byte for byte). Every category, empty ones too (an empty list says "nothing held", a missing key would
    say nothing)."""
    purposes = purposes_by_code()
    categories = {}
    for category in CATEGORIES:
        rows = list(_plain_rows(category, client))
        categories[category.code] = {**_category_head(category, purposes, len(rows)), "rows": rows}
    return _document(client=client, generated_at=generated_at, categories=categories)


def _csv_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        value = "; ".join(str(v) for v in value)
    return spreadsheet_text(str(value))


def _readme(document: dict) -> str:
    lines = [_("Your personal data held by %(controller)s, generated on %(when)s.") % {
                 "controller": document["controller"]["name"], "when": document["generated_at"]},
             _("Stored in: %(location)s.") % {"location": document["storage_location"]["name"]},
             "", _("data.json holds everything in one structured document; each CSV file holds one category."), ""]
    for category in document["categories"].values():
        lines += [f"{category['csv']} — {category['title']} ({category['count']})",
                  "  " + _("Why: %(purpose)s") % {"purpose": category["purpose"]},
                  "  " + _("Legal basis: %(basis)s") % {"basis": category["legal_basis_label"]},
                  "  " + _("Kept: %(retention)s") % {"retention": category["retention"]}]
        if category["not_included"]:
            lines.append("  " + _("Not included: %(note)s") % {"note": category["not_included"]})
        lines.append("")
    lines.append(_("Questions: %(email)s") % {"email": document["controller"]["email"]})
    return "\n".join(lines) + "\n"


# data.json is `json.dumps(document, indent=2)`: a row of category C sits at depth 4 (document > "categories" > C >
# "rows" > row), so it is indented by 8 spaces and the list closes at 6.
_ROW_INDENT = " " * 8
_ROWS_CLOSE = "\n" + " " * 6 + "]"
_CHUNK = 1 << 16


def _row_json(row: dict) -> str:
    return json.dumps(row, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2).replace("\n", "\n" + _ROW_INDENT)


def _spool(client: Client, purposes: dict, json_spool, csv_spool) -> dict:
    """Read every category once, row by row: each row's JSON (as it sits in data.json) into `json_spool`, its CSV line
    into `csv_spool` (both binary temporary files, UTF-8). Returns each category's head with its count and where its
    rows lie in the two spools."""
    heads = {}
    for category in CATEGORIES:
        keys = [key for key, _label in category.columns]
        json_start, csv_start, count = json_spool.tell(), csv_spool.tell(), 0
        line = io.StringIO()
        writer = csv.writer(line)
        for row in _plain_rows(category, client):
            json_spool.write(((",\n" if count else "") + _ROW_INDENT + _row_json(row)).encode())
            writer.writerow([_csv_text(row.get(key)) for key in keys])
            csv_spool.write(line.getvalue().encode())
            line.seek(0)
            line.truncate()
            count += 1
        heads[category.code] = (_category_head(category, purposes, count),
                                (json_start, json_spool.tell()), (csv_start, csv_spool.tell()))
    return heads


def _copy_range(source, start: int, end: int, target) -> None:
    source.seek(start)
    left = end - start
    while left > 0:
        chunk = source.read(min(_CHUNK, left))
        target.write(chunk)
        left -= len(chunk)


def _member(archive: zipfile.ZipFile, name: str) -> zipfile.ZipInfo:
    """The entry as `ZipFile.writestr` makes it (date, compression, permissions), for a member written in pieces."""
    info = zipfile.ZipInfo(filename=name, date_time=time.localtime(time.time())[:6])
    info.compress_type, info._compresslevel = archive.compression, archive.compresslevel
    info.external_attr = 0o600 << 16
    return info


def export_archive(*, client: Client, generated_at: datetime):
    """The ZIP in a temporary file (closed by the caller), built with constant memory whatever the history's length:
    each category is read once, in chunks (`Category.all_rows`), its rows spooled to two temporary files as data.json
    and the CSV hold them, then each member is streamed into the ZIP. The members are byte for byte what
    `export_document` would give, serialised at once (tests/rights/test_export_streamed.py)."""
    purposes = purposes_by_code()
    handle = tempfile.TemporaryFile()
    with tempfile.TemporaryFile() as json_spool, tempfile.TemporaryFile() as csv_spool:
        heads = _spool(client, purposes, json_spool, csv_spool)
        marker = f"rows-{uuid.uuid4().hex}"  # stands for each category's rows in the document, then cut out
        categories = {code: {**head, "rows": f"{marker}:{code}"} for code, (head, _json, _csv) in heads.items()}
        document = _document(client=client, generated_at=generated_at, categories=categories)
        text = json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2)
        size = len(text) + sum(end - start for _head, (start, end), _csv in heads.values())
        with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
            with archive.open(_member(archive, "data.json"), "w", force_zip64=size > zipfile.ZIP64_LIMIT // 2) as out:
                for code, (head, (start, end), _csv) in heads.items():
                    before, text = text.split(json.dumps(f"{marker}:{code}"), 1)
                    out.write(before.encode())
                    if head["count"]:
                        out.write(b"[\n")
                        _copy_range(json_spool, start, end, out)
                        out.write(_ROWS_CLOSE.encode())
                    else:
                        out.write(b"[]")
                out.write(text.encode())
            for head, _json, (start, end) in heads.values():
                with archive.open(_member(archive, head["csv"]), "w", force_zip64=end - start > zipfile.ZIP64_LIMIT // 2) as out:
                    header = io.StringIO()
                    csv.writer(header).writerow(head["columns"].values())
                    out.write(header.getvalue().encode("utf-8-sig"))  # the BOM lets spreadsheets read Chinese text
                    _copy_range(csv_spool, start, end, out)
            archive.writestr("README.txt", _readme(document))
    handle.seek(0)
    return handle


def _measure(handle) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    for chunk in iter(lambda: handle.read(1 << 16), b""):
        digest.update(chunk)
        size += len(chunk)
    handle.seek(0)
    return size, digest.hexdigest()


# --- services -------------------------------------------------------------------------------------------------------

def exports_building(*, client: Client) -> QuerySet[DataExport]:
    return DataExport.objects.filter(client=client, status=BUILDING)


def export_is_expired(export: DataExport, *, now: datetime | None = None) -> bool:
    return export.expires_at is not None and (now or timezone.now()) >= export.expires_at


@transaction.atomic
def export_request(*, client: Client) -> DataExport:
    """The client asked for a copy of their data (the view has checked the password): a request in the queue and an
    export being built, its task queued on commit. One export at a time per client."""
    list(Client.objects.select_for_update().filter(pk=client.pk).values_list("pk"))  # one client's asks queue up
    building = exports_building(client=client).first()
    if building is not None:
        raise ValidationError(_(
            "An export of your data is already being prepared (asked on %(when)s). We will e-mail you a link as soon as "
            "it is ready; you can ask for another one after that.") % {
                "when": formats.date_format(timezone.localtime(building.created_at), "DATETIME_FORMAT")})
    request = request_open(kind=DataSubjectRequest.Kind.EXPORT, channel=DataSubjectRequest.Channel.PORTAL, client=client)
    export = DataExport.objects.create(request=request, client=client)
    transaction.on_commit(lambda: _enqueue(export.pk), robust=True)
    return export


def _enqueue(export_id: int) -> None:
    try:
        build_export.delay(export_id)
    except Exception:  # broker down: the export stays "building" and the sweep queues it again
        logger.warning("Could not queue the build of export %s; the sweep will.", export_id, exc_info=True)


def export_build(*, export_id: int) -> DataExport:
    """Build the ZIP, store it, mark the export ready and its request completed, and e-mail the link.

    Safe to run twice: a run that finds the export no longer building does nothing; two runs at once both build,
    but only the first to lock the row keeps its file; the e-mail's idempotency key sends it once in any case.
    """
    export = DataExport.objects.select_related("client").get(pk=export_id)
    if export.status != BUILDING:
        return export
    if export.client.erased_at:  # erased meanwhile: nothing left to export, nobody to e-mail
        export_fail(export_id=export_id)
        return DataExport.objects.get(pk=export_id)
    with translation.override(export.client.preferred_language):
        handle = export_archive(client=export.client, generated_at=timezone.now())
    stored = ""
    try:
        size, digest = _measure(handle)
        with transaction.atomic():
            locked = DataExport.objects.select_for_update().select_related("client", "request").get(pk=export_id)
            if locked.status != BUILDING:
                return locked
            locked.file.save(f"{locked.public_id}.zip", File(handle), save=False)
            stored = locked.file.name
            locked.status, locked.size, locked.sha256 = DataExport.Status.READY, size, digest
            locked.ready_at = timezone.now()
            locked.expires_at = locked.ready_at + LINK_VALID_FOR
            locked.save(update_fields=["status", "file", "size", "sha256", "ready_at", "expires_at"])
            _request_complete(locked)
            export_ready_notify(export=locked)
            stored = ""  # committed: the file is the export's now
        return locked
    finally:
        handle.close()
        if stored:
            DataExport.file.field.storage.delete(stored)


def _request_complete(export: DataExport) -> None:
    with translation.override(export.client.preferred_language):
        outcome = _("Export built and e-mailed as a download link valid until %(when)s.") % {
            "when": formats.date_format(timezone.localtime(export.expires_at), "DATETIME_FORMAT")}
    try:
        request_close(request=export.request, status=DataSubjectRequest.Status.COMPLETED, outcome=outcome)
    except ValidationError:  # staff closed it meanwhile; the client still gets the data
        logger.info("Request %s was already closed when its export was ready.", export.request.public_id)


def export_ready_notify(*, export: DataExport) -> OutboundMessage:
    """E-mail the link, once per export (the idempotency key), in the client's language."""
    client = export.client
    with translation.override(client.preferred_language):
        values = {"name": client.full_name, "url": settings.SITE_URL + reverse("rights:export_download", args=[export.public_id]),
                  "asked": formats.date_format(timezone.localtime(export.created_at), "DATETIME_FORMAT"),
                  "expires": formats.date_format(timezone.localtime(export.expires_at), "DATETIME_FORMAT"),
                  "tz": timezone.get_current_timezone_name(), "again": settings.SITE_URL + reverse("rights:export")}
        body = _(
            "Hello %(name)s,\n\nThe copy of your personal data you asked for on %(asked)s is ready:\n%(url)s\n\n"
            "The link works until %(expires)s (%(tz)s), 7 days from now, and only when you are logged in to the privacy "
            "portal with your own account. The ZIP file holds data.json (everything in one structured document) and a "
            "CSV file for each category of data.\nAfter that date you can ask for a new copy at any time: %(again)s\n\n"
            "If you did not ask for this, change your password and reply to this e-mail.\n\nFulfillmen privacy team"
        ) % values
        return message_queue(channel=OutboundMessage.Channel.EMAIL, kind="data-export-ready", client=client,
                             to=client.email, subject=_("Your data export is ready"), body=body,
                             idempotency_key=f"data-export-ready:{export.public_id}")


def export_fail(*, export_id: int) -> None:
    """The build failed: the client may ask again at once; the request stays open in the staff queue."""
    DataExport.objects.filter(pk=export_id, status=BUILDING).update(status=DataExport.Status.FAILED)


def export_download_record(*, export: DataExport) -> None:
    DataExport.objects.filter(pk=export.pk).update(downloads=F("downloads") + 1)


def exports_sweep(*, now: datetime | None = None) -> dict:
    """Queue again the builds the broker never got, and delete the files of expired links (the rows stay, as the
    record of the request): the 7 days the page promises."""
    now = now or timezone.now()
    waiting = list(DataExport.objects.filter(status=BUILDING, created_at__lt=now - REQUEUE_BUILDING_AFTER)
                   .values_list("pk", flat=True)[:1000])
    for export_id in waiting:
        _enqueue(export_id)
    purged = rule_enforce(retention_rule("export_files"), now=now).done  # the retention job's own rule
    return {"requeued": len(waiting), "purged": purged}


# --- tasks: load by id, call a service ------------------------------------------------------------------------------

@shared_task(acks_late=True)
def build_export(export_id: int) -> str:
    try:
        return export_build(export_id=export_id).status
    except Exception:
        logger.exception("Export %s could not be built.", export_id)
        export_fail(export_id=export_id)
        raise


@shared_task
def sweep_exports() -> dict:
    return exports_sweep()
