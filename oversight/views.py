"""The privacy officer's dashboard: one staff page with every chart, and each chart's numbers as CSV.

Mounted at /admin/oversight/ and wrapped in `admin.site.admin_view`: anyone not logged in as active staff goes to the
admin login; staff without `oversight.view_dashboard` (Legal, Support agents) get 403.
"""

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

from transparency_log.status import log_health

from .dashboard_hooks import dashboard_sections
from .export import csv_response
from .models import VIEW_PERMISSION
from .panels import PANELS, all_panels
from .selectors import retention_status


def _check(request) -> None:
    if not request.user.has_perm(VIEW_PERMISSION):
        raise PermissionDenied


def dashboard_page(request):
    _check(request)
    return TemplateResponse(request, "oversight/dashboard.html", {
        **admin.site.each_context(request), "title": _("Privacy dashboard"), "panels": all_panels(),
        "consent_log": log_health(), "log_checkpoint_seconds": settings.LOG_CHECKPOINT_SECONDS,
        "retention": retention_status(),
        "sections": dashboard_sections(request),
    })


def panel_csv(request, slug):
    _check(request)
    if slug not in PANELS:
        raise Http404
    panel = PANELS[slug]()
    return csv_response(slug=slug, header=panel.csv_header, rows=panel.csv_rows)
