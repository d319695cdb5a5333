from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from .middleware import observe_client_ip
from .models import IPObservation


@receiver(user_logged_in, dispatch_uid="accounts.record_login_ip")
def record_login_ip(sender, request, user, **kwargs):
    if request is not None:
        observe_client_ip(request, context=IPObservation.Context.LOGIN)
