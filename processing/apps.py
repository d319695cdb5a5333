from django.apps import AppConfig


class ProcessingConfig(AppConfig):
    name = "processing"
    verbose_name = "Records of processing and impact assessments"

    def ready(self):
        from consent.impact_hooks import impact_assessment_check_register
        from oversight.dashboard_hooks import dashboard_section_register

        from . import checks  # noqa: F401  (the system check)
        from .dashboard import record_section
        from .gate import activation_refusal

        impact_assessment_check_register(activation_refusal)
        dashboard_section_register(record_section)
