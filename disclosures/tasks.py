from celery import shared_task

from .client_notices import withheld_disclosures_reveal


@shared_task
def reveal_withheld_disclosures() -> int:
    """Daily (beat): show clients the disclosures whose non-disclosure requirement has ended, and e-mail them."""
    return withheld_disclosures_reveal()
