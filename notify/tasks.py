from celery import shared_task

from .models import OutboundMessage
from .services import message_deliver, messages_sweep

RETRY_DELAYS = [30, 120, 600, 1800]


@shared_task(bind=True, max_retries=len(RETRY_DELAYS), acks_late=True)
def deliver_message(self, message_id: int) -> str:
    status = message_deliver(message_id=message_id)
    if status == OutboundMessage.Status.QUEUED:  # temporary failure: try again later, with backoff
        raise self.retry(countdown=RETRY_DELAYS[min(self.request.retries, len(RETRY_DELAYS) - 1)])
    return status


@shared_task
def sweep_messages() -> dict:
    return messages_sweep()
