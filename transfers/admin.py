"""The business-transfer admin: privacy officers and Legal record a transfer, a second one of them announces it,
objections received by e-mail or letter are recorded on it, and after the deadline the data is handed over and the
file downloaded. Support agents see nothing. The record page shows counts only, never a client."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import path, reverse

from . import admin_views
from .forms import BusinessTransferForm
from .models import BusinessTransfer


@admin.register(BusinessTransfer)
class BusinessTransferAdmin(admin.ModelAdmin):
    form = BusinessTransferForm
    change_form_template = "admin/transfers/businesstransfer/change_form.html"
    list_display = ["acquirer_name", "kind", "acquirer_country", "status", "objection_deadline", "handover_on"]
    list_filter = ["status", "kind"]
    search_fields = ["acquirer_name"]
    readonly_fields = ["status"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request.user
        return form

    def get_fields(self, request, obj=None):
        fields = list(BusinessTransferForm.Meta.fields)
        return fields if obj is None or self.has_change_permission(request, obj) else [*fields, "status"]

    def save_model(self, request, obj, form, change):
        pass  # saved by transfer_record / transfer_update while the form was validated

    def response_add(self, request, obj, post_url_continue=None):
        super().response_add(request, obj, post_url_continue)
        return redirect(reverse("admin:transfers_businesstransfer_change", args=[obj.pk]))

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.status != BusinessTransfer.Status.DRAFT:
            return False  # announced: what clients were told never changes
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(admin_views.record_context(request, obj))
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:object_id>/publish/", wrap(self.publish_view), name="transfers_businesstransfer_publish"),
            path("<int:object_id>/hand-over/", wrap(self.hand_over_view), name="transfers_businesstransfer_hand_over"),
            path("<int:object_id>/objections/add/", wrap(self.objection_add_view),
                 name="transfers_businesstransfer_objection_add"),
            path("<int:object_id>/handover/<str:file_format>/", wrap(self.handover_download_view),
                 name="transfers_businesstransfer_handover_download"),
            *super().get_urls(),
        ]

    def _allowed(self, request, permission):
        if not (self.has_view_permission(request) and request.user.has_perm(permission)):
            raise PermissionDenied

    def publish_view(self, request, object_id):
        self._allowed(request, admin_views.PUBLISH_PERMISSION)
        return admin_views.publish_page(request, object_id, model_admin=self)

    def hand_over_view(self, request, object_id):
        self._allowed(request, admin_views.HAND_OVER_PERMISSION)
        return admin_views.hand_over_page(request, object_id, model_admin=self)

    def objection_add_view(self, request, object_id):
        self._allowed(request, admin_views.OBJECTION_PERMISSION)
        return admin_views.objection_add_page(request, object_id, model_admin=self)

    def handover_download_view(self, request, object_id, file_format):
        self._allowed(request, admin_views.DOWNLOAD_PERMISSION)
        return admin_views.handover_download(request, object_id, file_format, model_admin=self)

