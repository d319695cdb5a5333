from celery import shared_task

from .signup import pending_signups_sweep


@shared_task
def sweep_pending_signups() -> int:
    """Hourly (beat): sign-ups nobody confirmed within 48 hours are deleted with what they held."""
    return pending_signups_sweep()
