"""The privacy dashboard's section on the record of processing (oversight/dashboard_hooks.py): a link to it, its files,
and the purposes and recipients whose impact assessment is missing or due for review."""

from django.urls import reverse

from .models import VIEW_RECORD_PERMISSION
from .selectors import assessment_gaps


def record_section(request) -> dict | None:
    if not request.user.has_perm(VIEW_RECORD_PERMISSION):
        return None
    add_url = reverse("admin:processing_impactassessment_add") if request.user.has_perm(
        "processing.add_impactassessment") else ""
    return {"template": "processing/dashboard_section.html", "gaps": assessment_gaps(), "add_url": add_url}
