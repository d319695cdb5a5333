"""The staff pages added to the consent ledger's admin: one change received by email or letter, the CSV import,
and the evidence download. Each checks its permission, validates a form and calls a service; nothing else."""

from datetime import datetime, time
from pathlib import Path

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from .forms import ConsentCsvConfirmForm, ConsentCsvUploadForm, OfflineConsentForm, import_payload_fits, sign_import_text
from .imports import consent_import_apply, consent_import_preview, preview_counts
from .models import ConsentAction, ConsentEventPersonalData
from .services import Evidence, consent_record

RECORD_PERMISSION = "consent.record_offline_consent"
IMPORT_PERMISSION = "consent.import_consent_csv"


def _context(request, model_admin, *, title, **extra):
    return {**model_admin.admin_site.each_context(request), "opts": model_admin.opts, "title": title, **extra}


def _bound(request) -> tuple:
    return (request.POST, request.FILES) if request.method == "POST" else ()


def record_offline_consent(request, *, model_admin):
    """GDPR Art. 7(3): a withdrawal by email or letter counts as much as a click; staff record it with its evidence."""
    if not request.user.has_perm(RECORD_PERMISSION):
        raise PermissionDenied
    form = OfflineConsentForm(*_bound(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        received_at = timezone.make_aware(datetime.combine(data["received_on"], time.min))
        try:
            event, created = consent_record(
                client=data["client"], purpose=data["purpose"], action=data["action"], channel=data["channel"],
                occurred_at=received_at, recorded_by=request.user, reason=data["reason"],
                evidence=Evidence(reference=data["reference"], received_on=data["received_on"], file=data["scan"]),
                idempotency_key=form.idempotency_key(),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            state = _("given") if event.action == ConsentAction.GRANT else _("withdrawn")
            text = _("Recorded: %(client)s's consent to “%(purpose)s” is now %(state)s (ledger entry #%(sequence)s).")
            if not created:
                text = _("This form was already submitted: %(client)s's consent to “%(purpose)s” was recorded as %(state)s "
                         "(ledger entry #%(sequence)s). Nothing new was recorded.")
            messages.success(request, text % {"client": event.client.full_name, "purpose": event.purpose.title,
                                              "state": state, "sequence": event.sequence})
            return redirect(reverse("admin:consent_consentevent_change", args=[event.pk]))
    return TemplateResponse(request, "admin/consent/consentevent/record.html", _context(
        request, model_admin, title=_("Record an opt-out or opt-in received by email or letter"), form=form,
    ))


def import_consent_csv(request, *, model_admin):
    """Step 1 (a file is uploaded): show what each row would do. Step 2 (the signed preview comes back): apply."""
    if not request.user.has_perm(IMPORT_PERMISSION):
        raise PermissionDenied
    title = _("Import opt-outs received by email or letter (CSV)")
    if request.method == "POST" and "payload" in request.POST:
        confirm = ConsentCsvConfirmForm(request.POST, user=request.user)
        if confirm.is_valid():
            summary = consent_import_apply(text=confirm.cleaned_data["payload"], recorded_by=request.user)
            return TemplateResponse(request, "admin/consent/consentevent/import_done.html",
                                    _context(request, model_admin, title=title, summary=summary))
        for error in confirm.errors.get("payload", []):
            messages.error(request, error)
        return redirect(reverse("admin:consent_consentevent_import"))
    upload = ConsentCsvUploadForm(*_bound(request))
    if request.method == "POST" and upload.is_valid():
        text = upload.cleaned_data["file"]
        try:
            outcomes = consent_import_preview(text=text)
        except ValidationError as exc:
            upload.add_error("file", exc)
        else:
            payload = sign_import_text(text=text, user=request.user)
            if import_payload_fits(payload):
                counts = preview_counts(outcomes)
                return TemplateResponse(request, "admin/consent/consentevent/import_preview.html", _context(
                    request, model_admin, title=title, outcomes=outcomes, counts=counts,
                    confirm=ConsentCsvConfirmForm(initial={"payload": payload}, user=request.user),
                ))
            upload.add_error("file", _("This file is too large to confirm in one step; split it into smaller files."))
    return TemplateResponse(request, "admin/consent/consentevent/import.html",
                            _context(request, model_admin, title=title, form=upload))


def evidence_download(request, object_id, *, model_admin):
    """The scan kept with an event, for staff who may read the ledger; never served from a public media URL."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    personal = get_object_or_404(ConsentEventPersonalData.objects.select_related("event"), event_id=object_id)
    if not personal.evidence_file:
        raise Http404(_("This event has no evidence file."))
    name = f"consent-evidence-{personal.event.receipt_id}{Path(personal.evidence_file.name).suffix}"
    return FileResponse(personal.evidence_file.open("rb"), as_attachment=True, filename=name)
