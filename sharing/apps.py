from django.apps import AppConfig


class SharingConfig(AppConfig):
    name = "sharing"
    verbose_name = "Sharing with affiliates and partners"

    def ready(self):
        from consent.recipient_hooks import recipients_register
        from notify.hooks import messages_sent_register

        from . import schema, signals  # noqa: F401
        from .processors import messages_sent_record
        from .selectors import recipients_of_consent_purposes, recipients_version_sql

        # Consent's pages and receipts name each per-recipient purpose's recipient (consent/recipient_hooks.py).
        recipients_register(recipients_of_consent_purposes, recipients_version_sql)
        # notify and amendments (lower floors) tell us what they sent; we record it as sent to the processor.
        messages_sent_register(messages_sent_record)
