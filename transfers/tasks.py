from celery import shared_task

from .notices import transfer_notices_dispatch


@shared_task(acks_late=True)
def deliver_transfer_notices(transfer_id: int) -> int:
    return transfer_notices_dispatch(transfer_id=transfer_id)
