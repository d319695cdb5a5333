"""The staff pages added to a disclosure's admin record: the four decisions (submit for review, approve, reject, mark
disclosed), appended notes, documents (upload and download), and what the record page shows besides the form.

Each page checks the permission, validates a form and calls a service. Four eyes, the PRC approval (PIPL Art. 41)
and immutability after disclosure are the services' rules: their refusals are shown on the form as they are.
"""

from dataclasses import dataclass
from typing import Callable

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from consent.models import DataCategory

from .forms import (
    DisclosedCategoriesForm,
    DisclosureApproveForm,
    DisclosureDecisionForm,
    DisclosureDocumentForm,
    DisclosureNoteForm,
    DisclosureRejectForm,
    service_error_add,
)
from .models import Disclosure, DisclosureDocument, DisclosureSubject
from .selectors import sees_withheld_disclosures, withheld_q
from .services import (
    OPEN_STATUSES,
    TRANSITIONS,
    disclosure_approve,
    disclosure_document_add,
    disclosure_mark_disclosed,
    disclosure_note_add,
    disclosure_reject,
    disclosure_submit_for_review,
    foreign_approval_needed,
)

Status = Disclosure.Status
DECIDE_PERMISSION = "disclosures.change_disclosure"
NOTE_PERMISSION = "disclosures.add_disclosurenote"
DOCUMENT_ADD_PERMISSION = "disclosures.add_disclosuredocument"
DOCUMENT_VIEW_PERMISSION = "disclosures.view_disclosuredocument"


@dataclass(frozen=True)
class DecisionStep:
    name: str
    label: str
    title: str
    leads_to: frozenset
    form_class: type
    act: Callable  # (disclosure, user, form) -> Disclosure, through a service
    submit: str


STEPS = {step.name: step for step in [
    DecisionStep("submit", gettext_lazy("Submit for review…"), gettext_lazy("Submit the request for review"),
                 frozenset({Status.UNDER_REVIEW}), DisclosureDecisionForm,
                 lambda d, user, form: disclosure_submit_for_review(disclosure=d, actor=user),
                 gettext_lazy("Submit for review")),
    DecisionStep("approve", gettext_lazy("Approve…"), gettext_lazy("Approve the disclosure"),
                 frozenset({Status.APPROVED}), DisclosureApproveForm,
                 lambda d, user, form: disclosure_approve(
                     disclosure=d, reviewer=user, reason=form.cleaned_data["reason"],
                     prc_approval_reference=form.cleaned_data.get("prc_approval_reference", "")),
                 gettext_lazy("Approve")),
    DecisionStep("reject", gettext_lazy("Reject…"), gettext_lazy("Reject the request"),
                 frozenset({Status.REJECTED}), DisclosureRejectForm,
                 lambda d, user, form: disclosure_reject(disclosure=d, reviewer=user, reason=form.cleaned_data["reason"]),
                 gettext_lazy("Reject")),
    DecisionStep("disclose", gettext_lazy("Mark disclosed…"), gettext_lazy("Record what was disclosed"),
                 frozenset({Status.DISCLOSED, Status.PARTIALLY_DISCLOSED}), DisclosedCategoriesForm,
                 lambda d, user, form: disclosure_mark_disclosed(disclosure=d, actor=user, disclosed=form.disclosed()),
                 gettext_lazy("Record as disclosed")),
]}


def step_open(disclosure: Disclosure, step: DecisionStep) -> bool:
    return bool(TRANSITIONS.get(disclosure.status, set()) & step.leads_to)


def is_overdue(disclosure: Disclosure, *, today=None) -> bool:
    """Still open and past the authority's deadline."""
    today = today or timezone.localdate()
    return (disclosure.status in OPEN_STATUSES and disclosure.response_deadline is not None
            and disclosure.response_deadline < today)


def category_labels(codes) -> str:
    return ", ".join(str(DataCategory(c).label) for c in codes or [] if c in DataCategory.values)


def _change_url(disclosure_id: int) -> str:
    return reverse("admin:disclosures_disclosure_change", args=[disclosure_id])


def _context(request, model_admin, *, title, **extra):
    return {**model_admin.admin_site.each_context(request), "opts": model_admin.opts, "title": title, **extra}


# --- The record page ------------------------------------------------------------------------------------------


def _subjects_with_holds(disclosure: Disclosure, user) -> list[DisclosureSubject]:
    """Each client concerned, with how many open requests keep their data on legal hold (one query for all); a
    withheld request is counted only for who may know of it."""
    subjects = list(disclosure.subjects.select_related("client").order_by("client__full_name", "pk"))
    others = DisclosureSubject.objects.filter(client_id__in=[s.client_id for s in subjects],
                                              disclosure__status__in=OPEN_STATUSES)
    if not sees_withheld_disclosures(user):
        others = others.exclude(withheld_q("disclosure__"))
    open_counts = dict(others
                       .values("client_id").annotate(n=Count("id")).values_list("client_id", "n"))
    for subject in subjects:
        subject.open_requests = open_counts.get(subject.client_id, 0)
        subject.disclosed_labels = category_labels(subject.categories_disclosed)
    return subjects


def _status_label(value: str) -> str:
    return Status(value).label if value in Status.values else value


def disclosure_record_context(request, disclosure: Disclosure) -> dict:
    """What the record page shows under the form: clients, audit trail, notes, documents, and the next steps."""
    audit = list(disclosure.audit.select_related("actor"))
    for entry in audit:
        entry.from_label, entry.to_label = _status_label(entry.from_status), _status_label(entry.to_status)
    user = request.user
    return {
        "decision_steps": [(step, reverse(f"admin:disclosures_disclosure_{step.name}", args=[disclosure.pk]))
                           for step in STEPS.values() if user.has_perm(DECIDE_PERMISSION) and step_open(disclosure, step)],
        "prc_approval_needed": foreign_approval_needed(disclosure),
        "overdue": is_overdue(disclosure),
        "subjects": _subjects_with_holds(disclosure, user),
        "audit": audit,
        "notes": disclosure.notes.select_related("author"),
        "documents": disclosure.documents.select_related("uploaded_by"),
        "can_download": user.has_perm(DOCUMENT_VIEW_PERMISSION),
        "note_form": DisclosureNoteForm() if user.has_perm(NOTE_PERMISSION) else None,
        "document_form": DisclosureDocumentForm() if user.has_perm(DOCUMENT_ADD_PERMISSION) else None,
    }


# --- Decisions ------------------------------------------------------------------------------------------------


def disclosure_decision_page(request, object_id, *, model_admin, step_name):
    step = STEPS[step_name]
    if not request.user.has_perm(DECIDE_PERMISSION):
        raise PermissionDenied
    disclosure = get_object_or_404(model_admin.get_queryset(request).select_related("recorded_by", "reviewed_by"), pk=object_id)
    change_url = _change_url(disclosure.pk)
    if request.method != "POST" and not step_open(disclosure, step):
        messages.info(request, _("This request is “%(status)s”: “%(step)s” is not possible now.")
                      % {"status": disclosure.get_status_display(), "step": step.title})
        return redirect(change_url)
    form = step.form_class(request.POST if request.method == "POST" else None, disclosure=disclosure)
    if request.method == "POST" and form.is_valid():
        try:
            disclosure = step.act(disclosure, request.user, form)
        except (ValidationError, PermissionDenied) as exc:
            service_error_add(form, exc, rename={"decision_reason": "reason"})
        else:
            model_admin.log_change(request, disclosure, [{"changed": {"fields": ["status"]}}])
            messages.success(request, _("“%(disclosure)s” is now %(status)s.")
                             % {"disclosure": disclosure, "status": disclosure.get_status_display()})
            return redirect(change_url)
    return TemplateResponse(request, "admin/disclosures/disclosure/decision.html", _context(
        request, model_admin, title=step.title, original=disclosure, step=step, form=form, change_url=change_url,
        subjects=disclosure.subjects.select_related("client").order_by("client__full_name", "pk"),
        requested_labels=category_labels(disclosure.categories_requested),
        prc_approval_needed=foreign_approval_needed(disclosure), overdue=is_overdue(disclosure),
        is_recorder=disclosure.recorded_by_id == request.user.pk))


# --- Notes and documents (forms under the record; errors come back as messages) ---------------------------------


def _refusal_text(exc_or_form) -> str:
    if isinstance(exc_or_form, ValidationError):
        return " ".join(exc_or_form.messages)
    return " ".join(str(message) for errors in exc_or_form.errors.values() for message in errors)


@require_POST
def disclosure_note_add_view(request, object_id, *, model_admin):
    """Corrections after the fact are appended notes; the record itself does not change."""
    if not (model_admin.has_view_permission(request) and request.user.has_perm(NOTE_PERMISSION)):
        raise PermissionDenied
    disclosure = get_object_or_404(model_admin.get_queryset(request), pk=object_id)
    form = DisclosureNoteForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(_refusal_text(form))
        disclosure_note_add(disclosure=disclosure, author=request.user, text=form.cleaned_data["text"])
    except ValidationError as exc:
        messages.error(request, _("The note was not added: %(reason)s") % {"reason": _refusal_text(exc)})
    else:
        messages.success(request, _("Your note was added to the record."))
    return redirect(_change_url(disclosure.pk) + "#disclosure-notes")


@require_POST
def disclosure_document_add_view(request, object_id, *, model_admin):
    if not (model_admin.has_view_permission(request) and request.user.has_perm(DOCUMENT_ADD_PERMISSION)):
        raise PermissionDenied
    disclosure = get_object_or_404(model_admin.get_queryset(request), pk=object_id)
    form = DisclosureDocumentForm(request.POST, request.FILES)
    try:
        if not form.is_valid():
            raise ValidationError(_refusal_text(form))
        document = disclosure_document_add(disclosure=disclosure, kind=form.cleaned_data["kind"],
                                           upload=form.cleaned_data["file"], uploaded_by=request.user)
    except ValidationError as exc:
        messages.error(request, _("The document was not added: %(reason)s") % {"reason": _refusal_text(exc)})
    else:
        messages.success(request, _("Added: %(document)s.") % {"document": document})
    return redirect(_change_url(disclosure.pk) + "#disclosure-documents")


def disclosure_document_download(request, object_id, document_id, *, model_admin):
    """Files live under MEDIA_ROOT, which no URL serves: staff who may read the record download them here."""
    if not (model_admin.has_view_permission(request) and request.user.has_perm(DOCUMENT_VIEW_PERMISSION)):
        raise PermissionDenied
    document = get_object_or_404(DisclosureDocument, pk=document_id,
                                 disclosure__in=model_admin.get_queryset(request).filter(pk=object_id))
    try:
        handle = document.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404(_("The file of this document is missing.")) from exc
    return FileResponse(handle, as_attachment=True, filename=document.original_name)
