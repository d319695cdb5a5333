from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "notify"
    verbose_name = "Messages to clients"

    def ready(self):
        from . import checks  # noqa: F401
