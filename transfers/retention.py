"""How long our copy of a handover file is kept (GDPR Art. 5(1)(e); PIPL Art. 19, 47): the acquirer has the data,
and our copy would otherwise keep even erased clients' data for ever. TRANSFER_HANDOVER_FILE_DAYS after the handover
the retention job (`manage.py enforce_retention`, rule `transfer_handover_files`) deletes the CSV and JSON files;
the TransferHandover row stays, with its SHA-256 digests, counts and categories, as proof of what was handed over.
Not kept by a legal hold: like an export file, it is a copy of data that a hold keeps where it lives.
"""

from datetime import datetime, timedelta

from django.db.models import Q, QuerySet

from rights.retention.rules import Action, RetentionRule

from .models import TransferHandover
from .services import setting_days

RULE_CODE = "transfer_handover_files"


def _expired(now: datetime) -> QuerySet:
    cutoff = now - timedelta(days=setting_days("TRANSFER_HANDOVER_FILE_DAYS"))
    return TransferHandover.objects.filter(generated_at__lt=cutoff).filter(~Q(csv_file="") | ~Q(json_file=""))


def _files_delete(items: QuerySet, now: datetime) -> int:
    """The files leave storage; the row says when. Deleted before the commit, as export files are: a download of an
    emptied row answers 404 without opening anything, and a failed commit leaves a row the next run clears."""
    storage = TransferHandover._meta.get_field("csv_file").storage
    names = [name for pair in items.values_list("csv_file", "json_file") for name in pair if name]
    count = items.update(csv_file="", json_file="", files_deleted_at=now)
    for name in names:
        storage.delete(name)
    return count


HANDOVER_FILES_RULE = RetentionRule(
    code=RULE_CODE, title="Business-transfer handover files (our copy)", action=Action.DELETE,
    law="GDPR Art. 5(1)(e); PIPL Art. 19, 47", model=TransferHandover, expired=_expired,
    apply=_files_delete)
