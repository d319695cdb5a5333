"""The admin of partner engagements (issue #18) and of the WMS keys that record them through the internal API.

An engagement is added (one order routed to a partner) or, once, given its end — always through `engagement_record`;
never deleted: the partner's feed and its deletion notices depend on it. The CSV import follows the consent import's
two steps (sharing/engagement_imports.py). WMS keys are made by `manage.py create_wms_key`, revoked here.
"""

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.widgets import AdminSplitDateTime
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts.admin_access import StaffAccessAdminMixin
from accounts.admin_readonly import ReadOnlyAdmin
from accounts.models import Client

from .engagement_imports import engagement_import_apply, engagement_import_preview, preview_counts
from .engagements import engagement_end, engagement_errors, engagement_record
from .models import Affiliate, PartnerEngagement, WmsKey
from .services import wms_key_revoke

IMPORT_PERMISSION = "sharing.add_partnerengagement"
IMPORT_SALT = "sharing.engagement_import"
IMPORT_MAX_AGE = 3600
MAX_BYTES = 2 * 1024 * 1024


class PartnerEngagementForm(forms.ModelForm):
    """A new engagement; on an existing one only its end can be given, once."""

    class Meta:
        model = PartnerEngagement
        fields = ["affiliate", "client", "order_reference", "started_at", "ended_at"]
        field_classes = {"started_at": forms.SplitDateTimeField, "ended_at": forms.SplitDateTimeField}
        widgets = {"started_at": AdminSplitDateTime, "ended_at": AdminSplitDateTime}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "affiliate" in self.fields:
            self.fields["affiliate"].queryset = Affiliate.objects.filter(kind=Affiliate.Kind.DROPSHIP_PARTNER, active=True)
        if "client" in self.fields:
            self.fields["client"].queryset = Client.objects.filter(erased_at__isnull=True)

    def clean(self):
        data = super().clean()
        existing = self.instance if self.instance.pk else None
        errors = engagement_errors(
            affiliate=existing.affiliate if existing else data.get("affiliate"),
            client=existing.client if existing else data.get("client"),
            order_reference=existing.order_reference if existing else (data.get("order_reference") or "x"),
            started_at=existing.started_at if existing else data.get("started_at"), ended_at=data.get("ended_at"))
        for error in errors:
            self.add_error(None, error)
        if existing and existing.ended_at and data.get("ended_at") != existing.ended_at:
            self.add_error("ended_at", _("A recorded end is not changed."))
        return data


class EngagementCsvUploadForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("CSV file"), help_text=gettext_lazy(
        "UTF-8, header “partner,client,order_reference,started,ended”, at most 10,000 rows and 2 MB."))

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than 2 MB. Split it into smaller files and import each one."))
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise forms.ValidationError(_("The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again.")) from exc
        if not text.strip():
            raise forms.ValidationError(_("The file is empty."))
        return text


class EngagementCsvConfirmForm(forms.Form):
    payload = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    @staticmethod
    def sign(*, text: str, user) -> str:
        return signing.dumps(text, salt=f"{IMPORT_SALT}:{user.pk}", compress=True)

    def clean_payload(self):
        try:
            return signing.loads(self.cleaned_data["payload"], salt=f"{IMPORT_SALT}:{self.user.pk}", max_age=IMPORT_MAX_AGE)
        except signing.SignatureExpired as exc:
            raise forms.ValidationError(_("This preview is more than an hour old; upload the file again.")) from exc
        except signing.BadSignature as exc:
            raise forms.ValidationError(_("The preview could not be verified; upload the file again.")) from exc


@admin.register(PartnerEngagement)
class PartnerEngagementAdmin(StaffAccessAdminMixin, admin.ModelAdmin):
    change_list_template = "admin/sharing/partnerengagement/change_list.html"
    form = PartnerEngagementForm
    list_display = ["order_reference", "affiliate", "client", "started_at", "ended_at", "source", "feed_closed_at"]
    list_filter = ["affiliate", "source", ("ended_at", admin.EmptyFieldListFilter)]
    list_select_related = ["affiliate", "client"]
    search_fields = ["order_reference", "client__email", "=client__public_id"]
    autocomplete_fields = ["client"]
    show_full_result_count = False
    list_per_page = 50
    readonly_fields = ["public_id", "source", "recorded_by", "recorded_by_key", "recorded_at", "feed_closed_at"]
    access_changes_logged = False  # an engagement changes nothing of the client's personal data

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.readonly_fields
        return ["affiliate", "client", "order_reference", "started_at", *self.readonly_fields]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            if data.get("ended_at") and not PartnerEngagement.objects.filter(pk=obj.pk, ended_at__isnull=False).exists():
                engagement_end(engagement=PartnerEngagement.objects.get(pk=obj.pk), ended_at=data["ended_at"],
                               recorded_by=request.user)
            return
        saved, _outcome = engagement_record(
            affiliate=data["affiliate"], client=data["client"], order_reference=data["order_reference"],
            started_at=data["started_at"], ended_at=data.get("ended_at"), source=PartnerEngagement.Source.ADMIN,
            recorded_by=request.user)
        obj.pk, obj.public_id = saved.pk, saved.public_id

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "can_import_csv": request.user.has_perm(IMPORT_PERMISSION)}
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        return [path("import/", self.admin_site.admin_view(self.import_view), name="sharing_partnerengagement_import"),
                *super().get_urls()]

    def import_view(self, request):
        if not request.user.has_perm(IMPORT_PERMISSION):
            raise PermissionDenied
        context = {**self.admin_site.each_context(request), "opts": self.opts,
                   "title": _("Import partner engagements (CSV)")}
        if request.method == "POST" and "payload" in request.POST:
            confirm = EngagementCsvConfirmForm(request.POST, user=request.user)
            if confirm.is_valid():
                summary = engagement_import_apply(text=confirm.cleaned_data["payload"], recorded_by=request.user)
                return TemplateResponse(request, "admin/sharing/partnerengagement/import_done.html",
                                        {**context, "summary": summary})
            for error in confirm.errors.get("payload", []):
                messages.error(request, error)
            return redirect(reverse("admin:sharing_partnerengagement_import"))
        upload = EngagementCsvUploadForm(*((request.POST, request.FILES) if request.method == "POST" else ()))
        if request.method == "POST" and upload.is_valid():
            text = upload.cleaned_data["file"]
            try:
                outcomes = engagement_import_preview(text=text)
            except ValidationError as exc:
                upload.add_error("file", exc)
            else:
                payload = EngagementCsvConfirmForm.sign(text=text, user=request.user)
                limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
                if limit is None or len(payload) < limit - 64 * 1024:
                    return TemplateResponse(request, "admin/sharing/partnerengagement/import_preview.html", {
                        **context, "outcomes": outcomes, "counts": preview_counts(outcomes),
                        "confirm": EngagementCsvConfirmForm(initial={"payload": payload}, user=request.user)})
                upload.add_error("file", _("This file is too large to confirm in one step; split it into smaller files."))
        return TemplateResponse(request, "admin/sharing/partnerengagement/import.html", {**context, "form": upload})


@admin.register(WmsKey)
class WmsKeyAdmin(ReadOnlyAdmin):
    """Made by `manage.py create_wms_key` (shown once), revoked here: effective on the very next request."""

    list_display = ["prefix", "name", "created_at", "revoked_at", "last_used_at"]
    fields = readonly_fields = ["prefix", "name", "created_at", "revoked_at", "last_used_at"]
    actions = ["revoke_selected"]

    def has_revoke_permission(self, request):
        return request.user.has_perm("sharing.change_wmskey")

    @admin.action(description=gettext_lazy("Revoke selected keys"), permissions=["revoke"])
    def revoke_selected(self, request, queryset):
        revoked = 0
        for wms_key in queryset.filter(revoked_at__isnull=True):
            wms_key_revoke(wms_key=wms_key)
            self.log_change(request, wms_key, [{"changed": {"fields": ["revoked_at"]}}])
            revoked += 1
        self.message_user(request, ngettext("Revoked %(count)d key: it is refused from the next request on.",
                                            "Revoked %(count)d keys: they are refused from the next request on.",
                                            revoked) % {"count": revoked}, messages.SUCCESS)

