from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks to recipients"

    def ready(self):
        from amendments.signals import policy_published
        from sharing.notice_hooks import agreement_changed_register, notices_created_register

        from . import checks, signals  # noqa: F401
        from .events import events_for_agreement, events_for_notices, events_for_policy

        # sharing (a lower floor) tells us of every withdrawal notice it writes, in the writing transaction.
        notices_created_register(events_for_notices)
        agreement_changed_register(events_for_agreement)
        policy_published.connect(events_for_policy, dispatch_uid="webhooks.policy_amended")
        from rights.retention.rules import retention_rule_register, retention_rules

        from .retention import WEBHOOK_LOG_RULE

        if WEBHOOK_LOG_RULE not in retention_rules():  # ready() may run twice (tests)
            retention_rule_register(WEBHOOK_LOG_RULE)
