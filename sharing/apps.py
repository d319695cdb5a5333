from django.apps import AppConfig


class SharingConfig(AppConfig):
    name = "sharing"
    verbose_name = "Sharing with affiliates and partners"

    def ready(self):
        from notify.hooks import messages_sent_register

        from . import schema, signals  # noqa: F401
        from .processors import messages_sent_record

        # notify and amendments (lower floors) tell us what they sent; we record it as sent to the processor.
        messages_sent_register(messages_sent_record)
