from celery import shared_task

from .client_notices import withheld_disclosures_reveal
from .report_publish import transparency_report_publish


@shared_task
def reveal_withheld_disclosures() -> int:
    """Daily (beat): show clients the disclosures whose non-disclosure requirement has ended, and e-mail them."""
    return withheld_disclosures_reveal()


@shared_task
def publish_transparency_report() -> int:
    """Daily (beat): publish the half-year that has just ended (the report page would also do it on first reading)."""
    return transparency_report_publish()
