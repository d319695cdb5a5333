from django.apps import AppConfig


class SharingConfig(AppConfig):
    name = "sharing"
    verbose_name = "Sharing with affiliates and partners"

    def ready(self):
        from . import schema, signals  # noqa: F401
