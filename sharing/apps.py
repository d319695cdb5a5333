from django.apps import AppConfig


class SharingConfig(AppConfig):
    name = "sharing"
    verbose_name = "Sharing with affiliates and partners"

    def ready(self):
        from consent.recipient_hooks import recipients_register

        from . import schema, signals  # noqa: F401
        from .selectors import recipients_of_consent_purposes

        # Consent's pages and receipts name each per-recipient purpose's recipient (consent/recipient_hooks.py).
        recipients_register(recipients_of_consent_purposes)
