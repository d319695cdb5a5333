"""The staff pages of a business transfer's admin record: announce (four eyes), record an objection received by
e-mail or letter, hand over, download the handover file. Each checks the permission, validates a form and calls a
service; the services' refusals are shown on the form as they are."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _

from accounts.access_log import Action, staff_access_record
from accounts.form_errors import service_error_add

from .forms import ObjectionForm, StepForm
from .handover import FORMATS, allowed_clients, handover_download_record
from .handover_jobs import transfer_handover_request
from .models import BusinessTransfer, TransferHandover
from .services import Status, objection_open, setting_days, transfer_objection_record, transfer_publish

PUBLISH_PERMISSION = "transfers.publish_businesstransfer"
HAND_OVER_PERMISSION = "transfers.hand_over_businesstransfer"
OBJECTION_PERMISSION = "transfers.add_transferobjection"
DOWNLOAD_PERMISSION = "transfers.view_transferhandover"


def _change_url(transfer) -> str:
    return reverse("admin:transfers_businesstransfer_change", args=[transfer.pk])


def _steps(request, transfer) -> list[tuple[str, str]]:
    user, steps = request.user, []
    if transfer.status == Status.DRAFT and user.has_perm(PUBLISH_PERMISSION):
        steps.append((_("Announce…"), reverse("admin:transfers_businesstransfer_publish", args=[transfer.pk])))
    if transfer.status == Status.PUBLISHED and user.has_perm(OBJECTION_PERMISSION):
        steps.append((_("Record an objection…"),
                      reverse("admin:transfers_businesstransfer_objection_add", args=[transfer.pk])))
    if transfer.status in (Status.PUBLISHED, Status.HANDING_OVER) and user.has_perm(HAND_OVER_PERMISSION):
        steps.append((_("Hand over…"), reverse("admin:transfers_businesstransfer_hand_over", args=[transfer.pk])))
    return steps


def record_context(request, transfer: BusinessTransfer) -> dict:
    """Under the form: where the transfer stands, counts (never a client), the audit trail, the handover files."""
    handover = TransferHandover.objects.filter(transfer=transfer).first()
    return {
        "transfer_steps": _steps(request, transfer),
        "audit": transfer.audit.select_related("actor"),
        "subjects_count": transfer.subjects.count(),
        "objections_count": transfer.objections.count(),
        "handover": handover,
        "can_download": request.user.has_perm(DOWNLOAD_PERMISSION),
        "handover_file_days": setting_days("TRANSFER_HANDOVER_FILE_DAYS"),
    }


def _page(request, model_admin, transfer, *, title, form, submit, **extra):
    return TemplateResponse(request, "admin/transfers/businesstransfer/step.html", {
        **model_admin.admin_site.each_context(request), "opts": model_admin.opts, "title": title, "original": transfer,
        "form": form, "step": {"submit": submit}, "change_url": _change_url(transfer), **extra})


def publish_page(request, object_id, *, model_admin):
    transfer = get_object_or_404(BusinessTransfer.objects.select_related("recorded_by"), pk=object_id)
    if transfer.status != Status.DRAFT:
        messages.info(request, _("This transfer was already announced."))
        return redirect(_change_url(transfer))
    form = StepForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            transfer = transfer_publish(transfer=transfer, approver=request.user)
        except (ValidationError, PermissionDenied) as exc:
            service_error_add(form, exc)
        else:
            model_admin.log_change(request, transfer, [{"changed": {"fields": ["status"]}}])
            messages.success(request, _("The transfer is announced: every client concerned is being told by e-mail "
                                        "and SMS."))
            return redirect(_change_url(transfer))
    return _page(request, model_admin, transfer, title=_("Announce the transfer to the clients concerned"), form=form,
                 submit=_("Announce"), step_name="publish", is_recorder=transfer.recorded_by_id == request.user.pk)


def hand_over_page(request, object_id, *, model_admin):
    """Queues the handover on a worker (handover_jobs.py); the record shows "Handing over" until it is done."""
    transfer = get_object_or_404(BusinessTransfer, pk=object_id)
    if transfer.status not in (Status.PUBLISHED, Status.HANDING_OVER) or objection_open(transfer):
        messages.info(request, _("The data can be handed over once the transfer is announced and the objection "
                                 "deadline has passed."))
        return redirect(_change_url(transfer))
    form = StepForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            transfer, asked = transfer_handover_request(transfer=transfer, actor=request.user)
        except (ValidationError, PermissionDenied) as exc:
            service_error_add(form, exc)
        else:
            if asked:
                model_admin.log_change(request, transfer, [{"changed": {"fields": ["status"]}}])
            messages.success(request, _("The handover is under way on a worker: this record shows “Handing over” "
                                        "until the file and the sharing records are written.") if asked
                             else _("The handover was already under way; the workers were asked again, and it "
                                    "happens once."))
            return redirect(_change_url(transfer))
    return _page(request, model_admin, transfer, title=_("Hand the data over"), form=form, submit=_("Hand over"),
                 step_name="hand-over", allowed_count=allowed_clients(transfer).count())


def objection_add_page(request, object_id, *, model_admin):
    transfer = get_object_or_404(BusinessTransfer, pk=object_id, status=Status.PUBLISHED)
    form = ObjectionForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        client = form.cleaned_data["client_reference"]
        try:
            _objection, created = transfer_objection_record(
                transfer=transfer, client=client, channel=form.cleaned_data["channel"], recorded_by=request.user,
                received_on=form.cleaned_data["received_on"], reference=form.cleaned_data["reference"])
        except (ValidationError, PermissionDenied) as exc:
            service_error_add(form, exc)
        else:
            staff_access_record(staff=request.user, client_ids=[client.pk], action=Action.CHANGE,
                                fields=["business_transfer_objection"], path=request.path)
            messages.success(request, _("The objection is recorded; the client was sent a confirmation.") if created
                             else _("This client had already objected; nothing changed."))
            return redirect(_change_url(transfer))
    return _page(request, model_admin, transfer, title=_("Record an objection received by e-mail or letter"),
                 form=form, submit=_("Record the objection"), step_name="objection")


def handover_download(request, object_id, file_format, *, model_admin):
    """The file lives under MEDIA_ROOT, which no URL serves; each download is in the audit trail and the access log."""
    if file_format not in FORMATS:
        raise Http404
    handover = get_object_or_404(TransferHandover.objects.select_related("transfer"), transfer_id=object_id)
    field = handover.csv_file if file_format == "csv" else handover.json_file
    if not field:  # deleted after TRANSFER_HANDOVER_FILE_DAYS (retention); the digests stay on the record
        raise Http404(_("The handover file was deleted after its retention period."))
    try:
        handle = field.open("rb")
    except FileNotFoundError as exc:
        raise Http404(_("The handover file is missing.")) from exc
    handover_download_record(handover=handover, staff=request.user, file_format=file_format, path=request.path)
    return FileResponse(handle, as_attachment=True, filename=f"handover-{handover.transfer.public_id}.{file_format}",
                        content_type=FORMATS[file_format])
