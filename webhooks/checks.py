"""`manage.py check --deploy`: letting webhooks reach private networks is for tests and local development only."""

from django.conf import settings
from django.core.checks import Error, register


@register("webhooks", deploy=True)
def private_networks_not_in_production(app_configs, **kwargs):
    if getattr(settings, "WEBHOOK_ALLOW_PRIVATE_NETWORKS", False) and not settings.DEBUG:
        return [Error("WEBHOOK_ALLOW_PRIVATE_NETWORKS is on: webhooks could be aimed at the internal network (SSRF).",
                      hint="Unset it outside tests and local development.", id="webhooks.E001")]
    return []
