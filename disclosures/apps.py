from django.apps import AppConfig


class DisclosuresConfig(AppConfig):
    name = "disclosures"
    verbose_name = "Disclosures to authorities"

    def ready(self):
        from accounts.access_log import staff_access_sealer_register

        from .selectors import withheld_looks_sealed

        staff_access_sealer_register(withheld_looks_sealed)
