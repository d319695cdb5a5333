from django.db.models.signals import post_save
from django.dispatch import receiver

from accounts.minors import client_signed_up
from accounts.models import Client

from .services import consent_age_check_record, consent_defaults_record


@receiver(post_save, sender=Client, dispatch_uid="consent.defaults_for_new_client")
def record_defaults_for_new_client(sender, instance, created, raw=False, **kwargs):
    """Every client gets a state for each consent purpose the moment it exists, however it was created."""
    if created and not raw:
        consent_defaults_record(client=instance)


@receiver(client_signed_up, dispatch_uid="consent.age_check_of_new_client")
def record_age_check(sender, client, age_check=None, **kwargs):
    """Sign-up's age answer (accounts/minors.py), in the transaction that creates the client."""
    if age_check is not None:
        consent_age_check_record(client=client, age_check=age_check)
