"""The handover on a worker: staff press "Hand over…", the transfer shows "handing over", and a Celery task runs
`handover.transfer_hand_over` (for 100 000 clients it outlasts a web request).

Exactly once, however often it is asked: the request only moves an announced transfer to HANDING_OVER (asking again
while it is there just asks the workers again), and the task does the handover only while the transfer is in
HANDING_OVER, under the transfer's row lock, so a second or concurrent run finds it handed over and does nothing.
A failure leaves nothing: the handover's own transaction is rolled back and its files deleted; the transfer goes back
to "announced" with the reason, shown to staff on the record and in its audit trail, and can be asked for again.
Files left by a worker that died in the middle (no row points at them) are deleted before the next attempt.
"""

import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User

from .handover import handover_due_check, transfer_hand_over
from .models import BusinessTransfer, TransferAuditEntry, TransferHandover
from .services import Status, works_transfers

logger = logging.getLogger(__name__)


@transaction.atomic
def transfer_handover_request(*, transfer: BusinessTransfer, actor: User) -> tuple[BusinessTransfer, bool]:
    """Ask a worker to hand the transfer over. Returns (transfer, asked): False when it was already being handed
    over (the task is queued again, which does nothing twice: useful if the first one was lost with the broker)."""
    if not works_transfers(actor):
        raise PermissionDenied(_("Only privacy officers and Legal hand over a business transfer."))
    locked = BusinessTransfer.objects.select_for_update().get(pk=transfer.pk)
    asked = locked.status != Status.HANDING_OVER
    if asked:
        handover_due_check(locked)
        locked.status, locked.handover_requested_by, locked.handover_requested_at = Status.HANDING_OVER, actor, timezone.now()
        locked.handover_error = ""
        locked.save(update_fields=["status", "handover_requested_by", "handover_requested_at", "handover_error"])
        TransferAuditEntry.objects.create(transfer=locked, actor=actor, from_status=Status.PUBLISHED,
                                          to_status=Status.HANDING_OVER,
                                          note=_("Handover asked for; a worker generates the file and the records."))
    transaction.on_commit(lambda: _queue(locked.pk), robust=True)
    return locked, asked


def _queue(transfer_id: int) -> None:
    from .tasks import hand_over_transfer

    try:
        hand_over_transfer.delay(transfer_id)
    except Exception:  # broker down: the transfer stays "handing over"; pressing "Hand over…" again asks again
        logger.warning("Could not queue the handover of transfer %s.", transfer_id, exc_info=True)


def _leftovers_delete(transfer: BusinessTransfer) -> None:
    """The transfer's storage folder holds only its handover files; with no handover row, anything there is left by
    an attempt that did not commit (a worker killed in the middle)."""
    if TransferHandover.objects.filter(transfer=transfer).exists():
        return
    storage, folder = TransferHandover.csv_file.field.storage, f"transfers/{transfer.public_id}"
    if not storage.exists(folder):
        return
    for name in storage.listdir(folder)[1]:
        storage.delete(f"{folder}/{name}")


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError | PermissionDenied):
        return " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
    # Not the exception's text: a database error may quote values. Its kind, and the worker's log has the rest.
    return _("Unexpected error (%(kind)s); the worker's log has the details.") % {"kind": type(exc).__name__}


def transfer_handover_perform(*, transfer_id: int) -> TransferHandover | None:
    """The task's work: the handover, once. None when there was nothing to do (already handed over, not asked) or
    it failed (recorded on the transfer)."""
    try:
        with transaction.atomic():
            locked = BusinessTransfer.objects.select_for_update().get(pk=transfer_id)
            if locked.status != Status.HANDING_OVER:
                return None
            _leftovers_delete(locked)
            return transfer_hand_over(transfer=locked, actor=locked.handover_requested_by)
    except Exception as exc:
        if not isinstance(exc, ValidationError | PermissionDenied):
            logger.exception("The handover of transfer %s failed.", transfer_id)
        handover_failure_record(transfer_id=transfer_id, reason=_reason(exc))
        return None


@transaction.atomic
def handover_failure_record(*, transfer_id: int, reason: str) -> None:
    """Back to "announced", nothing kept, the reason on the record and in the audit trail."""
    locked = BusinessTransfer.objects.select_for_update().get(pk=transfer_id)
    if locked.status != Status.HANDING_OVER:
        return
    _leftovers_delete(locked)
    locked.status, locked.handover_error = Status.PUBLISHED, reason
    locked.save(update_fields=["status", "handover_error"])
    TransferAuditEntry.objects.create(transfer=locked, actor=locked.handover_requested_by,
                                      from_status=Status.HANDING_OVER, to_status=Status.PUBLISHED,
                                      note=_("Handover failed, nothing was handed over: %(reason)s") % {"reason": reason})
