from celery import shared_task

from .handover_jobs import transfer_handover_perform
from .notices import transfer_notices_dispatch


@shared_task(acks_late=True)
def deliver_transfer_notices(transfer_id: int) -> int:
    return transfer_notices_dispatch(transfer_id=transfer_id)


@shared_task(acks_late=True)
def hand_over_transfer(transfer_id: int) -> int | None:
    """Safe to run twice or at once (handover_jobs.py): one handover, one set of sharing records. A worker killed in
    the middle gets it redelivered (acks_late, reject on worker lost) and the next attempt starts clean."""
    handover = transfer_handover_perform(transfer_id=transfer_id)
    return handover.client_count if handover else None
