"""Handing a business transfer's data over (after the objection deadline, on or after the announced date).

One transaction: the clients allowed are chosen (concerned, not erased, not objected and — when the purpose changes
— holding a granted consent to the new purpose, share-locked so a withdrawal waits for the handover and then reaches
the acquirer); the file (CSV and JSON) with exactly the announced categories is generated and stored; a sharing
record per client names the acquirer (and its `sharing.Affiliate`, so erasures, withdrawals and corrections reach
it); the subjects are marked handed over; the audit row is written. If any of it fails, none of it happened and the
stored files are deleted. Staff ask for it from the admin and a worker runs it (`handover_jobs.py`).
"""

import csv
import hashlib
import io
import json
import tempfile
import uuid

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access_log import Action, staff_access_record
from accounts.jurisdictions import is_abroad, storage_location_label
from accounts.models import Address, Client, IPObservation, User
from accounts.spreadsheet import spreadsheet_text
from consent.impact_hooks import impact_assessment_require
from consent.models import ConsentState, DataCategory, Purpose
from sharing.models import Affiliate
from sharing.services import sharing_records_write_to_recipient

from .models import BusinessTransfer, TransferAuditEntry, TransferHandover, TransferObjection, TransferSubject
from .services import Status, acquirer_affiliate_ensure, works_transfers

CHUNK = 2000
FORMATS = {"csv": "text/csv", "json": "application/json"}


def allowed_clients(transfer: BusinessTransfer):
    """The subjects whose data may go: not erased, no objection, and fresh consent where the purpose changes."""
    objected = TransferObjection.objects.filter(transfer=transfer, client_id=OuterRef("client_id"))
    subjects = (TransferSubject.objects.filter(transfer=transfer, client__erased_at__isnull=True)
                .exclude(Exists(objected)))
    if transfer.new_purpose_id:
        granted = ConsentState.objects.filter(purpose_id=transfer.new_purpose_id, granted=True,
                                              client_id=OuterRef("client_id"))
        subjects = subjects.filter(Exists(granted))
    return subjects


def _lock_granted(purpose_id: int, client_ids: list[int]) -> set[int]:
    """Share-lock the consent states and keep the clients still granted once concurrent changes are done."""
    if connection.vendor != "postgresql":
        return set(client_ids)
    with connection.cursor() as cursor:
        cursor.execute("SELECT client_id FROM consent_consentstate WHERE purpose_id = %s AND client_id = ANY(%s) "
                       "AND granted FOR SHARE", [purpose_id, client_ids])
        return {row[0] for row in cursor.fetchall()}


def _chunks(ids: list[int]):
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def _address(a: Address) -> dict:
    return {"kind": a.kind, "line1": a.line1, "line2": a.line2, "city": a.city, "region": a.region,
            "postcode": a.postcode, "country": str(a.country)}


def _records(client_ids: list[int], categories: list[str]):
    """Each client's record with exactly `categories`, read a chunk at a time (three queries per 2000 clients)."""
    columns = {"name": "full_name", "email": "email", "phone": "phone"}
    for ids in _chunks(client_ids):
        rows = Client.objects.filter(pk__in=ids).order_by("pk").values("pk", "public_id", *[
            columns[c] for c in categories if c in columns])
        addresses, ips = {}, {}
        if DataCategory.SHIPPING_ADDRESS in categories:
            for a in Address.objects.filter(client_id__in=ids).order_by("client_id", "pk"):
                addresses.setdefault(a.client_id, []).append(_address(a))
        if DataCategory.IP_ADDRESS in categories:
            for client_id, ip in (IPObservation.objects.filter(client_id__in=ids).order_by("client_id", "-last_seen")
                                  .values_list("client_id", "ip_address")):
                ips.setdefault(client_id, []).append(ip)
        for row in rows:
            record = {"client_reference": str(row["public_id"])}
            for category in categories:
                if category in columns:
                    record[category] = row[columns[category]]
                elif category == DataCategory.IP_ADDRESS:
                    record[category] = ips.get(row["pk"], [])
                elif category == DataCategory.SHIPPING_ADDRESS:
                    record[category] = addresses.get(row["pk"], [])
            yield record


def _csv_cell(value) -> str:
    if isinstance(value, list):
        value = " | ".join(", ".join(v for v in item.values() if v) if isinstance(item, dict) else str(item)
                           for item in value)
    return spreadsheet_text(str(value or ""))


def _files(transfer: BusinessTransfer, client_ids: list[int], *, generated_at) -> tuple:
    """The CSV (for people; formula-like cells defused) and the JSON (for systems), in temporary files."""
    categories = transfer.data_categories
    csv_handle, json_handle = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    csv_text = io.TextIOWrapper(csv_handle, encoding="utf-8-sig", newline="")
    writer = csv.writer(csv_text)
    writer.writerow(["client_reference", *categories])
    header = {"format": "fulfillmen-business-transfer-handover/1", "transfer": str(transfer.public_id),
              "kind": transfer.kind, "acquirer": {"name": transfer.acquirer_name, "country": transfer.acquirer_country},
              "categories": categories, "generated_at": generated_at.isoformat(), "client_count": len(client_ids)}
    json_handle.write((json.dumps(header, ensure_ascii=False)[:-1] + ', "clients": [').encode())
    for n, record in enumerate(_records(client_ids, categories)):
        writer.writerow([_csv_cell(record[key]) for key in ["client_reference", *categories]])
        json_handle.write(((", " if n else "") + json.dumps(record, ensure_ascii=False)).encode())
    json_handle.write(b"]}\n")
    csv_text.flush()
    csv_text.detach()
    return csv_handle, json_handle


def _sha256(handle) -> str:
    handle.seek(0)
    digest = hashlib.sha256()
    for chunk in iter(lambda: handle.read(1 << 16), b""):
        digest.update(chunk)
    handle.seek(0)
    return digest.hexdigest()


def handover_due_check(transfer: BusinessTransfer) -> None:
    """Refused unless announced (or being handed over), after the objection deadline and on or after the day
    clients were told."""
    today = timezone.localdate()
    if transfer.status not in (Status.PUBLISHED, Status.HANDING_OVER):
        raise ValidationError(_("Only an announced transfer that has not been handed over yet can be handed over."))
    if today <= transfer.objection_deadline or today < transfer.handover_on:
        raise ValidationError(_("Not yet: clients may object until %(deadline)s and were told the handover is on "
                                "%(handover)s.") % {"deadline": transfer.objection_deadline.isoformat(),
                                                    "handover": transfer.handover_on.isoformat()})


def _sharing_purpose(transfer: BusinessTransfer) -> Purpose:
    """Where the purpose changes, the records name the new purpose the clients consented to, so that withdrawing
    that consent reaches the acquirer like any recipient (sharing.WithdrawalNotice); otherwise `business-transfer`."""
    return transfer.new_purpose if transfer.new_purpose_id else Purpose.objects.get(code="business-transfer")


@transaction.atomic
def transfer_hand_over(*, transfer: BusinessTransfer, actor: User) -> TransferHandover:
    """Generate the handover file and write a sharing record per client allowed, in one transaction. Staff ask for
    it through `handover_jobs.transfer_handover_request`; a worker runs it as the member of staff who asked."""
    if not works_transfers(actor):
        raise PermissionDenied(_("Only privacy officers and Legal hand over a business transfer."))
    locked = BusinessTransfer.objects.select_for_update().get(pk=transfer.pk)
    handover_due_check(locked)
    from_status = locked.status
    if locked.affiliate is None:  # announced before every transfer named its acquirer as a recipient
        locked.affiliate = acquirer_affiliate_ensure(transfer=locked)
        locked.save(update_fields=["affiliate"])
    acquirer = locked.affiliate
    # Data leaves only to an assessed recipient (PIPL Art. 55) and, abroad, under a transfer mechanism (Art. 38).
    impact_assessment_require(recipient=acquirer)
    if is_abroad(acquirer.country) and acquirer.transfer_mechanism == Affiliate.TransferMechanism.NONE:
        raise ValidationError(_("%(acquirer)s is outside %(storage)s and has no transfer mechanism recorded: nothing "
                                "was handed over.") % {"acquirer": acquirer.name, "storage": storage_location_label()})
    client_ids = list(allowed_clients(locked).order_by("client_id").values_list("client_id", flat=True))
    if locked.new_purpose_id:
        still = set()
        for ids in _chunks(client_ids):
            still |= _lock_granted(locked.new_purpose_id, ids)
        client_ids = [pk for pk in client_ids if pk in still]
    now = timezone.now()
    csv_handle, json_handle = _files(locked, client_ids, generated_at=now)
    stored = []
    try:
        handover = TransferHandover(transfer=locked, client_count=len(client_ids), categories=locked.data_categories,
                                    generated_by=actor, generated_at=now, request_id=uuid.uuid4(),
                                    csv_sha256=_sha256(csv_handle), json_sha256=_sha256(json_handle))
        handover.csv_file.save(f"handover-{locked.public_id}.csv", File(csv_handle), save=False)
        stored.append(handover.csv_file.name)
        handover.json_file.save(f"handover-{locked.public_id}.json", File(json_handle), save=False)
        stored.append(handover.json_file.name)
        handover.save()
        sharing_records_write_to_recipient(
            recipient_name=locked.acquirer_name, recipient_country=locked.acquirer_country,
            purpose=_sharing_purpose(locked), fields=locked.data_categories,
            client_ids=client_ids, request_id=handover.request_id, at=now, affiliate=locked.affiliate)
        for ids in _chunks(client_ids):
            TransferSubject.objects.filter(transfer=locked, client_id__in=ids).update(handed_over_at=now)
        locked.status, locked.handed_over_at = Status.HANDED_OVER, now
        locked.save(update_fields=["status", "handed_over_at"])
        TransferAuditEntry.objects.create(transfer=locked, actor=actor, from_status=from_status,
                                          to_status=Status.HANDED_OVER,
                                          note=_("%(count)d clients handed over.") % {"count": len(client_ids)})
    except BaseException:
        for name in stored:
            TransferHandover.csv_file.field.storage.delete(name)
        raise
    finally:
        csv_handle.close()
        json_handle.close()
    return handover


@transaction.atomic
def handover_download_record(*, handover: TransferHandover, staff: User, file_format: str, path: str) -> None:
    """Who downloaded the handover file: an audit row on the transfer, and an export row in the staff access log of
    every client in it (each client's "Staff access to your record" counts it)."""
    TransferAuditEntry.objects.create(transfer=handover.transfer, actor=staff, from_status=handover.transfer.status,
                                      to_status=handover.transfer.status,
                                      note=_("Handover file downloaded (%(format)s).") % {"format": file_format.upper()})
    client_ids = (TransferSubject.objects.filter(transfer=handover.transfer, handed_over_at__isnull=False)
                  .values_list("client_id", flat=True))
    staff_access_record(staff=staff, client_ids=client_ids.iterator(chunk_size=CHUNK), action=Action.EXPORT,
                        fields=handover.categories, path=path, reason=_("Business transfer handover file"))
