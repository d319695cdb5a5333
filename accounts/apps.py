from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Clients and accounts"

    def ready(self):
        from . import signals  # noqa: F401
