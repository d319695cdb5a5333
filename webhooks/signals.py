"""Webhooks listen to the ledger: a client giving a per-recipient consent may become `consent.granted`
(withdrawals reach us as sharing's withdrawal notices, sharing/notice_hooks.py)."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from consent.models import Channel, ConsentAction, ConsentEvent

from .events import events_for_consent_grant

# Defaults recorded for a client (sign-up, a new recipient) are not a client giving consent: nobody is told.
NOT_A_GRANT = {Channel.SIGNUP}


@receiver(post_save, sender=ConsentEvent, dispatch_uid="webhooks.granted")
def granted(sender, instance, created, raw=False, **kwargs):
    if created and not raw and instance.action == ConsentAction.GRANT and instance.channel not in NOT_A_GRANT:
        events_for_consent_grant(client_id=instance.client_id, purpose_id=instance.purpose_id, at=instance.recorded_at)
