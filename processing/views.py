"""The record of processing in the admin: the page, and its HTML and CSV files in both languages.

Mounted at /admin/records-of-processing/ and wrapped in `admin.site.admin_view`: anyone not logged in as active staff
(with the second factor) goes to the admin log-in; staff without `processing.view_processing_record` (support agents)
get 403. Privacy officers, Legal and superusers read it. It holds no client data.
"""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.http import content_disposition_header

from oversight.models import VIEW_PERMISSION as DASHBOARD_PERMISSION

from .models import VIEW_RECORD_PERMISSION
from .record import processing_record
from .render import CONTENT_TYPES, FORMATS, LANGUAGES, record_filename, record_render


def _check(request) -> None:
    if not request.user.has_perm(VIEW_RECORD_PERMISSION):
        raise PermissionDenied


def record_page(request):
    _check(request)
    record = processing_record()
    return TemplateResponse(request, "processing/admin_record.html", {
        **admin.site.each_context(request), "title": record.title, "record": record,
        "show_dashboard": request.user.has_perm(DASHBOARD_PERMISSION),
    })


def record_file(request, language, fmt):
    _check(request)
    if language not in LANGUAGES or fmt not in FORMATS:
        raise Http404
    response = HttpResponse(record_render(fmt=fmt, language=language), content_type=CONTENT_TYPES[fmt])
    name = record_filename(fmt=fmt, language=language, day=timezone.localdate())
    response["Content-Disposition"] = content_disposition_header(True, name)
    response["Content-Language"] = language
    return response
