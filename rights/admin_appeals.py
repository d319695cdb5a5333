"""Appeals of refused requests in the admin: the queue (open ones first, by due date), a read-only record, and the
"Decide…" page, refused by the service to whoever refused the request (four eyes)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.admin_access import StaffAccessAdminMixin
from accounts.admin_readonly import ReadOnlyAdmin

from .appeals import DECIDE_PERMISSION, appeal_decide, appeal_may_decide
from .forms import AppealDecisionForm, service_error_add
from .models import RequestAppeal
from .services import request_reference


@admin.register(RequestAppeal)
class RequestAppealAdmin(StaffAccessAdminMixin, ReadOnlyAdmin):
    change_form_template = "admin/rights/requestappeal/change_form.html"
    list_display = ["reference", "status", "due_on", "overdue", "received_at", "refused_by", "decided_by"]
    list_filter = ["status"]
    list_select_related = ["request", "refused_by", "decided_by"]
    search_fields = ["^request__public_id", "request__requester_email", "request__client__email"]
    fields = readonly_fields = ["reference", "request_link", "status", "channel", "received_at", "due_on", "grounds",
                                "refused_by", "decided_by", "decided_at", "decision_reason"]

    def access_client_ids(self, appeal, context=None):
        return [appeal.request.client_id] if appeal.request.client_id else []

    def get_urls(self):
        return [path("<int:object_id>/decide/", self.admin_site.admin_view(self.decide_view),
                     name="rights_requestappeal_decide"), *super().get_urls()]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["decide_url"] = reverse("admin:rights_requestappeal_decide", args=[obj.pk]) \
                if obj.status == RequestAppeal.Status.OPEN and request.user.has_perm(DECIDE_PERMISSION) else ""
            context["may_decide"] = appeal_may_decide(appeal=obj, actor=request.user)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def decide_view(self, request, object_id):
        if not (self.has_view_permission(request) and request.user.has_perm(DECIDE_PERMISSION)):
            raise PermissionDenied
        appeal = get_object_or_404(RequestAppeal.objects.select_related("request", "request__client", "refused_by"),
                                   pk=object_id)
        change_url = reverse("admin:rights_requestappeal_change", args=[appeal.pk])
        if appeal.status != RequestAppeal.Status.OPEN:
            messages.info(request, _("This appeal was already decided."))
            return redirect(change_url)
        form = AppealDecisionForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                appeal_decide(appeal=appeal, outcome=form.cleaned_data["outcome"],
                              reason=form.cleaned_data["decision_reason"], actor=request.user)
            except (ValidationError, PermissionDenied) as exc:
                service_error_add(form, exc)
            else:
                self.log_change(request, appeal, str(_("Decided")))
                messages.success(request, _("The appeal was decided; the requester is e-mailed the decision."))
                return redirect(change_url)
        response = TemplateResponse(request, "admin/rights/requestappeal/decide.html", {
            **self.admin_site.each_context(request), "opts": self.opts, "title": _("Decide the appeal"),
            "original": appeal, "form": form, "step": {"submit": _("Record the decision and tell the requester")},
            "change_url": change_url, "reference": request_reference(appeal.request),
            "may_decide": appeal_may_decide(appeal=appeal, actor=request.user)}, status=400 if form.errors else 200)
        return self.access_record_page(request, response, fields=["grounds", "refusal_reason"])

    @admin.display(description=_("reference"), ordering="request__public_id")
    def reference(self, appeal):
        return request_reference(appeal.request)

    @admin.display(description=_("request"))
    def request_link(self, appeal):
        url = reverse("admin:rights_datasubjectrequest_change", args=[appeal.request_id])
        return format_html('<a href="{}">{}</a>', url, appeal.request)

    @admin.display(description=_("overdue"), boolean=True)
    def overdue(self, appeal):
        return appeal.status == RequestAppeal.Status.OPEN and appeal.due_on < timezone.localdate()
