"""The pages added to a breach's admin record: its steps (select clients, authority notified, prepare and approve
the client notice, close), notes, the authority notice download and the CSV of affected clients.

Each page checks the permission, validates a form and calls a service; the services' refusals show on the form.
"""

import csv
from dataclasses import dataclass
from typing import Callable

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from accounts.access_log import Action, staff_access_record
from accounts.admin_access import ExportReasonForm
from accounts.form_errors import service_error_add
from accounts.spreadsheet import spreadsheet_text
from consent.models import DataCategory

from .authority_notice import notice_html, notice_markdown
from .clock import breach_clock
from .forms import AuthorityNotifiedForm, CloseForm, ConfirmForm, NoteForm, SelectionForm
from .models import Breach
from .selectors import CSV_COLUMNS, breach_subject_counts, breach_subject_rows
from .services import (
    breach_authority_notified,
    breach_close,
    breach_note_add,
    breach_notice_request,
    breach_notice_send,
    breach_subjects_select,
)

WORK_PERMISSION = "breaches.change_breach"
SUBJECTS_PERMISSION = "breaches.view_breachsubject"


def _select(breach, user, form):
    data = form.cleaned_data
    added = breach_subjects_select(breach=breach, actor=user, scope=data["scope"], since=data.get("since"),
                                   until=data.get("until"), staff_id=data["staff"].pk if data.get("staff") else None,
                                   recipient=data.get("recipient") or "", client_text=data.get("client_ids") or "")
    return ngettext("%(count)d client was added to the breach.", "%(count)d clients were added to the breach.",
                    added) % {"count": added}


def _authority(breach, user, form):
    data = form.cleaned_data
    breach_authority_notified(breach=breach, actor=user, notified_at=data["notified_at"],
                              authority_name=data["authority_name"], reference=data["reference"],
                              delay_reason=data["delay_reason"])
    return _("The notice to the authority is recorded.")


def _request(breach, user, form):
    breach_notice_request(breach=breach, actor=user)
    return _("The notice is prepared; a second privacy officer approves and sends it.")


def _send(breach, user, form):
    told = breach_notice_send(breach=breach, approver=user)
    return ngettext("The notice is on its way to %(count)d client.", "The notice is on its way to %(count)d clients.",
                    told) % {"count": told}


def _close(breach, user, form):
    breach_close(breach=breach, actor=user, reason=form.cleaned_data["reason"])
    return _("The breach is closed.")


@dataclass(frozen=True)
class Step:
    name: str
    label: str
    form_class: type
    act: Callable  # (breach, user, form) -> message
    submit: str
    explanation: str = ""


STEPS = {step.name: step for step in [
    Step("select", gettext_lazy("Select affected clients…"), SelectionForm, _select, gettext_lazy("Add these clients")),
    Step("authority", gettext_lazy("Authority notified…"), AuthorityNotifiedForm, _authority, gettext_lazy("Record")),
    Step("notice-request", gettext_lazy("Prepare the client notice…"), ConfirmForm, _request,
         gettext_lazy("Prepare the notice"), gettext_lazy(
             "The affected clients will be told by e-mail and SMS, each in their language, once a second privacy "
             "officer approves. From now on the texts of the record no longer change.")),
    Step("notice-send", gettext_lazy("Approve and send the client notice…"), ConfirmForm, _send,
         gettext_lazy("Approve and send"), gettext_lazy(
             "Four eyes: you approve the notice another privacy officer prepared. Every affected client not told yet "
             "gets it once by e-mail and once by SMS; erased clients get nothing.")),
    Step("close", gettext_lazy("Close…"), CloseForm, _close, gettext_lazy("Close the breach")),
]}


def step_open(breach: Breach, name: str) -> bool:
    if breach.status == Breach.Status.CLOSED:
        return False
    return {"authority": breach.authority_notified_at is None, "notice-request": breach.notice_requested_at is None,
            "notice-send": breach.notice_requested_at is not None}.get(name, True)


def _change_url(breach_id) -> str:
    return reverse("admin:breaches_breach_change", args=[breach_id])


def _categories(codes) -> str:
    return ", ".join(str(DataCategory(c).label) for c in codes or [] if c in DataCategory.values)


def breach_record_context(request, breach: Breach) -> dict:
    user = request.user
    return {
        "clock": breach_clock(breach),
        "counts": breach_subject_counts(breach=breach, viewer=user),
        "steps": [(step, reverse(f"admin:breaches_breach_{step.name.replace('-', '_')}", args=[breach.pk]))
                  for step in STEPS.values() if user.has_perm(WORK_PERMISSION) and step_open(breach, step.name)],
        "audit": breach.audit.select_related("actor"),
        "notes": breach.notes.select_related("author"),
        "note_form": NoteForm() if user.has_perm("breaches.add_breachnote") else None,
        "may_export": user.has_perm(SUBJECTS_PERMISSION),
        "categories_labels": _categories(breach.categories),
    }


def breach_step_page(request, object_id, *, model_admin, step_name):
    step = STEPS[step_name]
    if not request.user.has_perm(WORK_PERMISSION):
        raise PermissionDenied
    breach = get_object_or_404(model_admin.get_queryset(request), pk=object_id)
    if request.method != "POST" and not step_open(breach, step.name):
        messages.info(request, _("“%(step)s” is not possible now.") % {"step": step.label})
        return redirect(_change_url(breach.pk))
    posted = request.method == "POST"
    form = step.form_class(request.POST if posted else None, request.FILES if posted else None, breach=breach)
    if request.method == "POST" and form.is_valid():
        try:
            done = step.act(breach, request.user, form)
        except (ValidationError, PermissionDenied) as exc:
            service_error_add(form, exc)
        else:
            messages.success(request, done)
            return redirect(_change_url(breach.pk))
    return TemplateResponse(request, "admin/breaches/breach/step.html", {
        **model_admin.admin_site.each_context(request), "opts": model_admin.opts, "title": step.label,
        "original": breach, "step": step, "form": form, "change_url": _change_url(breach.pk),
        "clock": breach_clock(breach), "is_requester": breach.notice_requested_by_id == request.user.pk,
    }, status=400 if form.errors else 200)


@require_POST
def breach_note_add_view(request, object_id, *, model_admin):
    if not (model_admin.has_view_permission(request) and request.user.has_perm("breaches.add_breachnote")):
        raise PermissionDenied
    breach = get_object_or_404(model_admin.get_queryset(request), pk=object_id)
    form = NoteForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(_("Write the note."))
        breach_note_add(breach=breach, author=request.user, text=form.cleaned_data["text"])
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, _("The note was not added: %(reason)s")
                       % {"reason": " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)})
    else:
        messages.success(request, _("Your note was added to the record."))
    return redirect(_change_url(breach.pk) + "#breach-notes")


def breach_notice_download(request, object_id, *, model_admin):
    """The notice to the supervisory authority, both languages, as Markdown (`?format=md`) or HTML."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    breach = get_object_or_404(model_admin.get_queryset(request), pk=object_id)
    markdown = request.GET.get("format") == "md"
    body = notice_markdown(breach, viewer=request.user) if markdown else notice_html(breach, viewer=request.user)
    response = HttpResponse(body, content_type="text/markdown; charset=utf-8" if markdown else "text/html; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="breach-BR-{breach.pk:04d}-notice.{"md" if markdown else "html"}"'
    return response


def breach_subjects_csv(request, object_id, *, model_admin):
    """The affected clients, as a CSV: a reason first; each client exported gets a row in the staff access log."""
    if not (model_admin.has_view_permission(request) and request.user.has_perm(SUBJECTS_PERMISSION)):
        raise PermissionDenied
    breach = get_object_or_404(model_admin.get_queryset(request), pk=object_id)
    form = ExportReasonForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (f'attachment; filename="breach-BR-{breach.pk:04d}-clients-'
                                           f'{timezone.now():%Y%m%d-%H%M%S}.csv"')
        response.write("\ufeff")
        writer = csv.writer(response)
        writer.writerow(CSV_COLUMNS)
        ids = []
        for client_id, row in breach_subject_rows(breach=breach, viewer=request.user):
            ids.append(client_id)
            writer.writerow([spreadsheet_text(str(v)) for v in row])
        staff_access_record(staff=request.user, client_ids=ids, action=Action.EXPORT, fields=CSV_COLUMNS,
                            path=request.path, reason=form.cleaned_data["reason"])
        return response
    return TemplateResponse(request, "admin/breaches/breach/export.html", {
        **model_admin.admin_site.each_context(request), "opts": model_admin.opts, "original": breach, "form": form,
        "title": _("Export the affected clients (CSV)"), "change_url": _change_url(breach.pk),
        "step": {"submit": _("Download the CSV")},
        "count": breach_subject_counts(breach=breach, viewer=request.user)["total"],
    }, status=400 if form.errors else 200)
