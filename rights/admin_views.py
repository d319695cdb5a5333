"""The staff pages added to a request's admin record: reply by e-mail, internal note, extension, closing; and what the
record page shows besides its fields (the thread, deadline markers, whether an account uses the requester's address).

Each page checks the permission, validates a form and calls a service; the services' refusals are shown on the form.
"""

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Callable
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.access_log import Action

from .agents import agent_permission_download_record
from .forms import CloseForm, ExtendForm, NoteForm, PauseForm, ReplyForm, ResumeForm, service_error_add
from .intake import request_clock_pause, request_identity_verified, running_pause
from .models import AuthorisedAgent, DataSubjectRequest, RequestAppeal, RequestClockPause
from .services import (
    AWAITING,
    CLOSED,
    WORK_PERMISSION,
    client_with_email_exists,
    extension_limit_for,
    request_address,
    request_close,
    request_extend,
    request_note,
    request_reference,
    request_reply,
)

Status = DataSubjectRequest.Status
MESSAGE_PERMISSION = "rights.add_requestmessage"
DUE_SOON_DAYS = 7  # "due this week": today and the six days after


def deadline_marker(request: DataSubjectRequest, *, today=None) -> str | None:
    """"paused" (identity being verified), "overdue", "due-soon" (within 7 days) or None; only requests awaiting an
    answer have a deadline running."""
    if request.clock_paused_since is not None and request.status not in CLOSED:
        return "paused"
    if request.status not in AWAITING:
        return None
    today = today or timezone.localdate()
    due = request.effective_due_on
    if due < today:
        return "overdue"
    if due < today + timedelta(days=DUE_SOON_DAYS):
        return "due-soon"
    return None


def acknowledgement_marker(request: DataSubjectRequest, *, today=None) -> str | None:
    """"ack-overdue" when receipt of a request awaiting an answer was not confirmed within 10 business days."""
    if request.acknowledged_at is not None or request.status not in AWAITING:
        return None
    return "ack-overdue" if (today or timezone.localdate()) > request.acknowledgement_due_on else None


def _reply(dsr, user, form):
    request_reply(request=dsr, body=form.cleaned_data["body"], actor=user)
    if form.cleaned_data.get("close") and dsr.status != Status.SCHEDULED:
        request_close(request=dsr, status=Status.COMPLETED, outcome=_("Answered by e-mail."), actor=user)


def _close(dsr, user, form):
    data = form.cleaned_data
    if dsr.status == Status.SCHEDULED and data["status"] == Status.COMPLETED:
        # Closing by hand would say "erased" while nothing was; the beat task completes it on its date.
        raise ValidationError(_("A scheduled erasure completes by itself on its date, after the data is erased. "
                                "To stop it, close it as cancelled."))
    request_close(request=dsr, status=data["status"], outcome=data["outcome"], refusal_reason=data["refusal_reason"],
                  actor=user, notify_client=data["notify_client"])


@dataclass(frozen=True)
class Step:
    name: str
    label: str
    title: str
    form_class: type
    act: Callable  # (request, user, form) -> None, through the services
    submit: str
    done: str
    allowed: Callable  # (request) -> bool: whether the step makes sense in the request's state
    anchor: str = ""


STEPS = {step.name: step for step in [
    Step("reply", gettext_lazy("Reply by e-mail…"), gettext_lazy("Reply to the requester by e-mail"), ReplyForm, _reply,
         gettext_lazy("Send the answer"), gettext_lazy("Your answer was queued for e-mail and added to the thread."),
         lambda r: r.status not in (Status.UNVERIFIED, Status.AWAITING_CLIENT) and bool(request_address(r)),
         "#request-thread"),
    Step("note", gettext_lazy("Add a note…"), gettext_lazy("Add an internal note"), NoteForm,
         lambda dsr, user, form: request_note(request=dsr, body=form.cleaned_data["body"], actor=user),
         gettext_lazy("Add the note"), gettext_lazy("Your note was added to the thread."), lambda r: True, "#request-thread"),
    Step("extend", gettext_lazy("Extend…"), gettext_lazy("Extend the deadline"), ExtendForm,
         lambda dsr, user, form: request_extend(request=dsr, until=form.cleaned_data["until"],
                                                reason=form.cleaned_data["reason"], actor=user),
         gettext_lazy("Extend and tell the requester"), gettext_lazy("The deadline was extended; the requester is told."),
         lambda r: r.status in AWAITING and r.clock_paused_since is None),
    Step("pause", gettext_lazy("Pause for verification…"), gettext_lazy("Pause the deadline to verify the identity"),
         PauseForm, lambda dsr, user, form: request_clock_pause(
             request=dsr, reason=RequestClockPause.Reason.IDENTITY_VERIFICATION, note=form.cleaned_data["note"],
             actor=user),
         gettext_lazy("Pause the deadline"), gettext_lazy("The deadline is paused until the identity is verified."),
         lambda r: r.status in AWAITING and running_pause(r) is None),
    Step("resume", gettext_lazy("Identity verified…"), gettext_lazy("The identity is verified: restart the deadline"),
         ResumeForm, lambda dsr, user, form: request_identity_verified(request=dsr, note=form.cleaned_data["note"],
                                                                        actor=user),
         gettext_lazy("Restart the deadline and tell the requester"),
         gettext_lazy("The deadline runs again; the requester is told the due date."),
         lambda r: r.status in AWAITING and running_pause(r) is not None),
    Step("close", gettext_lazy("Close…"), gettext_lazy("Close the request"), CloseForm, _close,
         gettext_lazy("Close the request"), gettext_lazy("The request was closed."), lambda r: r.status not in CLOSED),
]}


def _may_take(user, step: Step) -> bool:
    return user.has_perm(WORK_PERMISSION) and (step.name not in ("reply", "note") or user.has_perm(MESSAGE_PERMISSION))


def _change_url(request_id: int) -> str:
    return reverse("admin:rights_datasubjectrequest_change", args=[request_id])


def _form_for(step: Step, dsr: DataSubjectRequest, data=None):
    if step.form_class is ExtendForm:
        return ExtendForm(data, limit=extension_limit_for(dsr) if dsr.status in AWAITING else None)
    return step.form_class(data)


def request_record_context(request, dsr: DataSubjectRequest) -> dict:
    """What the record page shows under its fields: where it stands, the thread, and the forms staff may use."""
    user = request.user
    steps = {name: step for name, step in STEPS.items() if _may_take(user, step) and step.allowed(dsr)}
    return {
        "reference": request_reference(dsr),
        "marker": deadline_marker(dsr),
        "answer_to": request_address(dsr),
        "account_exists": dsr.client_id is None and client_with_email_exists(email=dsr.requester_email),
        "client_search_url": reverse("admin:accounts_client_changelist") + "?" + urlencode({"q": dsr.requester_email})
        if dsr.client_id is None else "",
        "thread": dsr.messages.select_related("author", "delivery"),
        "step_links": [(step, reverse(f"admin:rights_datasubjectrequest_{step.name}", args=[dsr.pk]))
                       for step in steps.values() if step.name in ("pause", "resume", "extend", "close")],
        "pauses": dsr.pauses.select_related("started_by", "ended_by"),
        "ack_marker": acknowledgement_marker(dsr),
        **agent_and_appeal_context(user, dsr),
        "reply_form": ReplyForm() if "reply" in steps else None,
        "note_form": NoteForm() if "note" in steps else None,
    }


AGENT_FILE_PERMISSION = "rights.view_authorisedagent"


def agent_and_appeal_context(user, dsr: DataSubjectRequest) -> dict:
    """The authorised agent who made the request (the file only for who may open it) and the appeal, if any."""
    agent = AuthorisedAgent.objects.filter(request=dsr).first()
    appeal = RequestAppeal.objects.filter(request=dsr).first()
    return {
        "agent": agent,
        "agent_file_url": reverse("admin:rights_datasubjectrequest_agent_permission", args=[dsr.pk])
        if agent is not None and user.has_perm(AGENT_FILE_PERMISSION) else "",
        "appeal": appeal,
        "appeal_url": reverse("admin:rights_requestappeal_change", args=[appeal.pk])
        if appeal is not None and user.has_perm("rights.view_requestappeal") else "",
    }


def agent_permission_download(request, object_id, *, model_admin):
    """The agent's signed permission: under MEDIA_ROOT, which no URL serves; only staff with the permission, and
    every download is on the request's thread and in the staff access log (when a client is linked)."""
    if not (model_admin.has_view_permission(request) and request.user.has_perm(AGENT_FILE_PERMISSION)):
        raise PermissionDenied
    dsr = get_object_or_404(DataSubjectRequest.objects.select_related("client", "agent"), pk=object_id,
                            agent__isnull=False)
    try:
        handle = dsr.agent.permission_file.open("rb")
    except FileNotFoundError as exc:
        raise Http404(_("The file of this permission is missing.")) from exc
    agent_permission_download_record(request=dsr, actor=request.user)
    model_admin.access_record(request, [dsr], Action.VIEW_DETAIL, fields=["agent_permission"])
    suffix = Path(dsr.agent.permission_file.name).suffix
    return FileResponse(handle, as_attachment=True, filename=f"agent-permission-{request_reference(dsr)}{suffix}")


def request_step_page(request, object_id, *, model_admin, step_name):
    step = STEPS[step_name]
    if not (model_admin.has_view_permission(request) and _may_take(request.user, step)):
        raise PermissionDenied
    dsr = get_object_or_404(DataSubjectRequest.objects.select_related("client", "assignee"), pk=object_id)
    change_url = _change_url(dsr.pk)
    if not step.allowed(dsr):
        messages.info(request, _("This request is “%(status)s”: “%(step)s” is not possible now.")
                      % {"status": dsr.get_status_display(), "step": step.title})
        return redirect(change_url)
    form = _form_for(step, dsr, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                step.act(dsr, request.user, form)
        except (ValidationError, PermissionDenied) as exc:
            service_error_add(form, exc, rename={"release_reason": "reason"})
        else:
            model_admin.log_change(request, dsr, str(step.title))
            messages.success(request, str(step.done))
            return redirect(change_url + step.anchor)
    context = {
        **model_admin.admin_site.each_context(request), "opts": model_admin.opts, "title": step.title,
        "original": dsr, "step": step, "form": form, "change_url": change_url, "reference": request_reference(dsr),
        "marker": deadline_marker(dsr), "answer_to": request_address(dsr),
        "thread": dsr.messages.select_related("author", "delivery") if step.name == "reply" else None,
        "pauses": dsr.pauses.select_related("started_by", "ended_by") if step.name in ("pause", "resume") else None,
    }
    return TemplateResponse(request, "admin/rights/datasubjectrequest/step.html", context,
                            status=400 if form.errors else 200)
