from celery import shared_task

from .alerts import overdue_breaches_alert
from .client_notices import released_subjects_notify


@shared_task
def alert_overdue_breaches() -> int:
    """Every 10 minutes (beat): alert the privacy officers at 48 and 72 hours without a notice to the authority."""
    return overdue_breaches_alert()


@shared_task
def notify_released_breach_subjects() -> int:
    """Hourly (beat): tell the clients of an announced breach once the disclosure that kept them withheld ends."""
    return released_subjects_notify()
