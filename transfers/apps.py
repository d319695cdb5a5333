from django.apps import AppConfig


class TransfersConfig(AppConfig):
    name = "transfers"
    verbose_name = "Business transfers"

    def ready(self):
        from consent.offers import PurposeAudience, purpose_audience_register
        from rights.retention.rules import retention_rule_register, retention_rules
        from sharing.announcements import Announcer, received_page_announcer_register

        from .retention import HANDOVER_FILES_RULE
        from .selectors import new_purpose_audiences, new_purposes, transfers_version_sql
        from .views import received_page_announcements

        received_page_announcer_register(Announcer(received_page_announcements, version_sql=transfers_version_sql,
                                                   templates=("transfers/includes/announced.html",)))
        # A transfer's new purpose is offered only to the clients the transfer concerns (consent/offers.py).
        purpose_audience_register(PurposeAudience(restricted=new_purposes, offered=new_purpose_audiences,
                                                   version_sql=transfers_version_sql))
        if HANDOVER_FILES_RULE not in retention_rules():  # ready() may run twice (tests)
            retention_rule_register(HANDOVER_FILES_RULE)
