from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RightsConfig(AppConfig):
    name = "rights"
    verbose_name = _("Data-subject rights")

    def ready(self):
        # Importing connects the receivers: disclosures' holds, and e-mail changes as corrections.
        from sharing.partitions import retention_keeps_clients_register

        from . import disclosure_holds, rectification  # noqa: F401
        from .models import LegalHold

        # Sharing records of a client under a legal hold outlive their month's partition (sharing/partitions.py).
        retention_keeps_clients_register(
            lambda: LegalHold.objects.filter(released_at__isnull=True).values_list("client_id", flat=True).distinct())
