from django.apps import AppConfig


class TransparencyLogConfig(AppConfig):
    name = "transparency_log"
    verbose_name = "Public consent log"

    def ready(self):
        from consent.log_hooks import ConsentLogHooks, consent_log_register

        from . import checks  # noqa: F401  (registers the signing-key check)
        from .proofs import events_in_log, places_version_sql
        from .receipts import receipt_email_paragraph, receipt_log_part
        from .status import checkpoint_minutes

        # What consent's receipts, receipt e-mail and history page show of the log (consent imports nothing above it).
        consent_log_register(ConsentLogHooks(receipt_part=receipt_log_part, places=events_in_log,
                                             receipt_email_paragraph=receipt_email_paragraph,
                                             checkpoint_minutes=checkpoint_minutes, version_sql=places_version_sql))
