"""Sharing reacts to consent: a withdrawal written to the ledger becomes withdrawal notices in the same transaction.

Consent (a lower floor) knows nothing of sharing; sharing listens to the ledger's rows being written.
"""

from django.db.models.signals import post_save
from django.dispatch import receiver

from consent.models import ConsentAction, ConsentEvent

from .services import withdrawal_notices_for_consent_event


@receiver(post_save, sender=ConsentEvent, dispatch_uid="sharing.notices_on_withdrawal")
def notices_on_withdrawal(sender, instance, created, raw=False, **kwargs):
    if created and not raw and instance.action == ConsentAction.WITHDRAW:
        withdrawal_notices_for_consent_event(event=instance)
