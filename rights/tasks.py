"""The app's Celery tasks. Celery autodiscovers `rights.tasks` only, so the export's tasks (defined beside their
service in rights/export.py) are imported here for workers to know them."""

from celery import shared_task

from .erasure import erasures_perform_due
from .export import build_export, sweep_exports  # noqa: F401  (registered with Celery by this import)
from .models import RetentionRun
from .retention.enforce import retention_enforce


@shared_task
def perform_due_erasures() -> int:
    """Hourly (beat): erase the clients whose grace period is over, unless a legal hold now keeps their data."""
    return erasures_perform_due()


@shared_task
def enforce_retention() -> dict:
    """Daily (beat): what has passed its retention period is deleted or anonymised (rights/retention); returns the
    counts the run's RetentionRun row keeps."""
    outcomes = retention_enforce(trigger=RetentionRun.Trigger.SCHEDULE)
    return {o.code: o.as_counts() for o in outcomes}


@shared_task
def close_unconfirmed_agent_requests() -> int:
    """Hourly (beat): requests by an authorised agent that the client did not confirm in time are closed."""
    from .agents import agent_requests_expire

    return agent_requests_expire()
