"""Impact assessments in the admin: privacy officers write drafts; another privacy officer or Legal approves them
(four eyes); an approved assessment is read-only for everyone and never deleted (PIPL Art. 56: kept three years)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import APPROVE_PERMISSION, ImpactAssessment
from .selectors import CURRENT, OVERDUE
from .services import impact_assessment_approve, impact_assessment_save


class ImpactAssessmentForm(forms.ModelForm):
    """What `impact_assessment_save` checks, next to its field."""

    class Meta:
        model = ImpactAssessment
        fields = ["purpose", "recipient", "scope", "necessity", "risks", "measures", "conclusion", "review_due"]

    def clean_review_due(self):
        due = self.cleaned_data.get("review_due")
        if due is not None and due <= timezone.localdate():
            raise forms.ValidationError(_("The review date must be in the future."))
        return due

    def clean(self):
        data = super().clean()
        if bool(data.get("purpose")) == bool(data.get("recipient")):
            raise forms.ValidationError(_("An impact assessment covers either one purpose or one recipient."))
        return data


class StatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("draft", _("Draft")), (CURRENT, _("Current")), (OVERDUE, _("Review overdue"))]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        if self.value() == "draft":
            return queryset.filter(approved_at__isnull=True)
        if self.value() == CURRENT:
            return queryset.filter(approved_at__isnull=False, review_due__gte=today)
        if self.value() == OVERDUE:
            return queryset.filter(approved_at__isnull=False, review_due__lt=today)
        return queryset


@admin.register(ImpactAssessment)
class ImpactAssessmentAdmin(admin.ModelAdmin):
    form = ImpactAssessmentForm
    list_display = ["covers_display", "status", "assessed_by", "assessed_at", "approved_by", "approved_at", "review_due"]
    list_filter = [StatusFilter, ("review_due", admin.DateFieldListFilter)]
    list_select_related = ["purpose", "recipient", "assessed_by", "approved_by"]
    search_fields = ["recipient__name", "purpose__code", "purpose__title_en", "purpose__title_zh_hans"]
    readonly_fields = ["public_id", "assessed_by", "assessed_at", "approval", "approved_at", "keep_until"]
    fieldsets = [
        (None, {"fields": ["purpose", "recipient"]}),
        (_("The assessment (PIPL Art. 56)"), {"fields": ["scope", "necessity", "risks", "measures", "conclusion"]}),
        (_("Four eyes and review"), {"fields": ["review_due", "assessed_by", "assessed_at", "approval", "approved_at",
                                               "keep_until", "public_id"]}),
    ]

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and not (obj is not None and obj.approved)

    def has_delete_permission(self, request, obj=None):
        return False  # kept at least three years (PIPL Art. 56); a draft that is not pursued is simply not approved

    def save_model(self, request, obj, form, change):
        impact_assessment_save(assessment=obj, actor=request.user)

    @admin.display(description=_("covers"))
    def covers_display(self, assessment):
        kind = _("Purpose") if assessment.purpose_id else _("Recipient")
        return f"{kind}: {assessment.covers}"

    @admin.display(description=_("status"))
    def status(self, assessment):
        if not assessment.approved:
            return _("Draft")
        return _("Current") if assessment.review_due >= timezone.localdate() else _("Review overdue")

    @admin.display(description=_("kept until at least"))
    def keep_until(self, assessment):
        return assessment.keep_until if assessment.pk else "—"

    @admin.display(description=_("approved by"))
    def approval(self, assessment):
        if assessment.approved:
            return assessment.approved_by
        if not assessment.pk:
            return "—"
        url = reverse("admin:processing_impactassessment_approve", args=[assessment.pk])
        return format_html('{} · <a href="{}">{}</a>', _("Not yet approved"), url, _("Approve…"))

    def get_urls(self):
        return [path("<path:object_id>/approve/", self.admin_site.admin_view(self.approve_view),
                     name="processing_impactassessment_approve"), *super().get_urls()]

    def approve_view(self, request, object_id):
        if not request.user.has_perm(APPROVE_PERMISSION):
            raise PermissionDenied
        assessment = get_object_or_404(ImpactAssessment.objects.select_related("purpose", "recipient", "assessed_by"),
                                       pk=object_id)
        change_url = reverse("admin:processing_impactassessment_change", args=[assessment.pk])
        if assessment.approved:
            messages.info(request, _("This impact assessment is already approved."))
            return redirect(change_url)
        error = ""
        if request.method == "POST":
            try:
                impact_assessment_approve(assessment=assessment, approver=request.user)
            except ValidationError as exc:
                error = " ".join(exc.messages)
            else:
                self.log_change(request, assessment, str(_("Approved")))
                messages.success(request, _("Approved: it counts until its review date and can no longer change."))
                return redirect(change_url)
        context = {**self.admin_site.each_context(request), "opts": self.opts, "original": assessment,
                   "title": _("Approve this impact assessment"), "change_url": change_url, "error": error}
        return TemplateResponse(request, "admin/processing/impactassessment/approve.html", context,
                                status=400 if error else 200)
