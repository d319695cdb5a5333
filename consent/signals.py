from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.models import Client

from .services import consent_defaults_record


@receiver(post_save, sender=Client, dispatch_uid="consent.defaults_for_new_client")
def record_defaults_for_new_client(sender, instance, created, raw=False, **kwargs):
    """Every client gets a state for each consent purpose the moment it exists, however it was created."""
    if created and not raw:
        consent_defaults_record(client=instance)
