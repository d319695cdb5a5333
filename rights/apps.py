from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RightsConfig(AppConfig):
    name = "rights"
    verbose_name = _("Data-subject rights")

    def ready(self):
        # Importing connects the receivers: disclosures' holds, and e-mail changes as corrections.
        from . import disclosure_holds, rectification  # noqa: F401
