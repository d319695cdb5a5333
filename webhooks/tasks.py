from celery import shared_task

from .delivery import deliveries_sweep, endpoint_deliver


@shared_task(acks_late=True)
def deliver_endpoint(endpoint_id: int) -> dict:
    """Send an endpoint's due deliveries. Lost with its worker: the rows stay pending/sending and the sweeper
    queues them again; retries are rows coming due, not task retries."""
    return endpoint_deliver(endpoint_id=endpoint_id)


@shared_task
def sweep_webhooks() -> dict:
    return deliveries_sweep()
