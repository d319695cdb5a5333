"""Webhooks listen to the ledger: a client giving a per-recipient consent may become `consent.granted`
(withdrawals reach us as sharing's withdrawal notices, sharing/notice_hooks.py)."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from consent.models import Channel, ConsentAction, ConsentEvent

from .events import events_for_consent_grant

# Defaults recorded for a client (sign-up, a new recipient) are not a client giving consent: nobody is told.
NOT_A_GRANT = {Channel.SIGNUP}


def _per_recipient(event: ConsentEvent) -> bool:
    """Only a per-recipient purpose (a child, consent.Purpose.parent) names one recipient to tell; the ledger writes its
    events with the purpose at hand, so asking costs no statement on the hot path of every other grant."""
    if ConsentEvent.purpose.is_cached(event):
        return event.purpose.parent_id is not None
    return True  # not at hand: events_for_consent_grant looks it up


@receiver(post_save, sender=ConsentEvent, dispatch_uid="webhooks.granted")
def granted(sender, instance, created, raw=False, **kwargs):
    if (created and not raw and instance.action == ConsentAction.GRANT and instance.channel not in NOT_A_GRANT
            and _per_recipient(instance)):
        events_for_consent_grant(client_id=instance.client_id, purpose_id=instance.purpose_id, at=instance.recorded_at)
