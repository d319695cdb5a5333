"""The sharing admin. Affiliates and their agreements are managed by privacy officers; keys are created (shown once)
and revoked, never edited; sharing records and withdrawal notices are evidence, read-only for everyone."""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import DateFieldListFilter
from django.db.models import Count, Q
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.admin_access import StaffAccessAdminMixin
from accounts.admin_readonly import ReadOnlyAdmin
from accounts.roles import sees_withheld_disclosures
from consent.models import DataCategory

from . import admin_views, engagement_admin  # noqa: F401  (engagement_admin registers engagements and WMS keys)
from .forms import AffiliateForm, SharingAgreementForm, SharingAgreementFormSet
from .models import Affiliate, ApiKey, SharingAgreement, SharingRecord, WithdrawalNotice
from .services import affiliate_save, agreement_create, api_key_revoke


def overdue_before() -> datetime:
    """Unacknowledged notices older than this are overdue: the affiliate has not confirmed the deletion in time."""
    return timezone.now() - timedelta(days=getattr(settings, "WITHDRAWAL_ACK_DEADLINE_DAYS", 7))


def _labels(codes) -> str:
    return ", ".join(str(DataCategory(c).label) for c in codes or [] if c in DataCategory.values)


class SharingAgreementInline(admin.TabularInline):
    """Existing agreements are shown, not edited: a change in what an affiliate may receive is a new agreement, and
    an ending goes through `agreement_end`, which tells the affiliate to delete what it holds."""

    model = SharingAgreement
    form = SharingAgreementForm
    formset = SharingAgreementFormSet
    extra = 1
    can_delete = False
    fields = ["purpose", "shared_fields", "valid_from", "valid_until", "reference", "tells_grants", "status"]
    readonly_fields = ["status", "status_and_end"]

    def get_fields(self, request, obj=None):
        if request.user.has_perm(admin_views.END_AGREEMENT_PERMISSION):
            return [name if name != "status" else "status_and_end" for name in self.fields]
        return self.fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("purpose")

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("Data shared"))
    def shared_fields(self, agreement):
        return _labels(agreement.fields)

    @staticmethod
    def _state(agreement) -> str:
        now = timezone.now()
        if agreement.pk is None:
            return "new"
        if agreement.valid_until is not None and agreement.valid_until <= now:
            return "ended"
        return "future" if agreement.valid_from > now else "in-force"

    @admin.display(description=_("Status"))
    def status(self, agreement):
        return {"new": "—", "ended": _("Ended"), "future": _("Not yet in force"), "in-force": _("In force")}[
            self._state(agreement)]

    @admin.display(description=_("Status"))
    def status_and_end(self, agreement):
        if self._state(agreement) in ("new", "ended"):
            return self.status(agreement)
        url = reverse("admin:sharing_affiliate_agreement_end", args=[agreement.pk])
        return format_html('{} · <a href="{}">{}</a>', self.status(agreement), url, _("End this agreement…"))


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    can_delete = False
    show_change_link = True
    fields = readonly_fields = ["prefix", "name", "created_at", "expires_at", "revoked_at", "last_used_at"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Affiliate)
class AffiliateAdmin(admin.ModelAdmin):
    form = AffiliateForm
    change_form_template = "admin/sharing/affiliate/change_form.html"
    form = AffiliateForm
    list_display = ["name", "kind", "country", "transfer_mechanism", "active", "notices_waiting", "notices_overdue"]
    list_filter = ["kind", "active", "country", "transfer_mechanism"]
    search_fields = ["name", "contact_name", "contact_email"]
    # What clients are shown before consenting to this recipient (PIPL Art. 23, 39): its legal name, contact, address,
    # country and how to exercise their rights against it; abroad, the transfer mechanism and its reference (checked
    # by Affiliate.clean, which `affiliate_save` runs).
    fields = ["name", "kind", "country", "contact_name", "contact_email", "address", "rights_contact",
              "transfer_mechanism", "transfer_mechanism_reference", "active", "public_id", "created_at",
              "notices_waiting", "notices_overdue"]
    readonly_fields = ["public_id", "created_at", "notices_waiting", "notices_overdue"]
    inlines = [SharingAgreementInline, ApiKeyInline]

    def save_model(self, request, obj, form, change):
        affiliate_save(affiliate=obj)

    def get_queryset(self, request):
        waiting = Q(withdrawal_notices__acknowledged_at__isnull=True)
        overdue = waiting & Q(withdrawal_notices__occurred_at__lt=overdue_before())
        return super().get_queryset(request).annotate(
            notices_waiting_count=Count("withdrawal_notices", filter=waiting),
            notices_overdue_count=Count("withdrawal_notices", filter=overdue),
        )

    @admin.display(description=_("withdrawal notices not acknowledged"), ordering="notices_waiting_count")
    def notices_waiting(self, affiliate):
        return getattr(affiliate, "notices_waiting_count", "—")

    @admin.display(description=_("of which overdue"), ordering="notices_overdue_count")
    def notices_overdue(self, affiliate):
        return getattr(affiliate, "notices_overdue_count", "—")

    def has_delete_permission(self, request, obj=None):
        return False  # its agreements, keys and records are evidence; set it inactive instead

    def save_formset(self, request, form, formset, change):
        if formset.model is not SharingAgreement:
            return super().save_formset(request, form, formset, change)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for agreement_form in formset.extra_forms:
            if agreement_form.has_changed():
                formset.new_objects.append(agreement_create(affiliate=formset.instance,
                                                            **agreement_form.agreement_arguments()))

    def get_urls(self):
        return [
            path("agreements/<int:agreement_id>/end/", self.admin_site.admin_view(self.agreement_end_view),
                 name="sharing_affiliate_agreement_end"),
            *super().get_urls(),
        ]

    def agreement_end_view(self, request, agreement_id):
        return admin_views.agreement_end_confirm(request, agreement_id, model_admin=self)


class ApiKeyStatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("active", _("Active")), ("expired", _("Expired")), ("revoked", _("Revoked"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "active":
            return queryset.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now), revoked_at__isnull=True)
        if self.value() == "expired":
            return queryset.filter(expires_at__lte=now, revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are made by `affiliate_key_create` (the add page shows the key once) and ended by `api_key_revoke`."""

    list_display = ["prefix", "affiliate", "name", "created_at", "expires_at", "revoked_at", "last_used_at"]
    list_filter = [ApiKeyStatusFilter, "affiliate", ("created_at", DateFieldListFilter)]
    list_select_related = ["affiliate"]
    search_fields = ["prefix", "name", "affiliate__name"]
    fields = readonly_fields = ["affiliate", "prefix", "name", "created_at", "created_by", "expires_at", "revoked_at",
                                "last_used_at"]
    actions = ["revoke_selected"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_revoke_permission(self, request):
        return request.user.has_perm("sharing.change_apikey")

    def add_view(self, request, form_url="", extra_context=None):
        return admin_views.api_key_add(request, model_admin=self)

    @admin.action(description=_("Revoke selected keys"), permissions=["revoke"])
    def revoke_selected(self, request, queryset):
        revoked = 0
        for api_key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(api_key=api_key)
            self.log_change(request, api_key, [{"changed": {"fields": ["revoked_at"]}}])
            revoked += 1
        self.message_user(request, ngettext("Revoked %(count)d key: it is refused from the next request on.",
                                            "Revoked %(count)d keys: they are refused from the next request on.",
                                            revoked) % {"count": revoked}, messages.SUCCESS)


@admin.register(SharingRecord)
class SharingRecordAdmin(StaffAccessAdminMixin, ReadOnlyAdmin):
    list_display = ["shared_at", "client", "recipient_name", "recipient_country", "purpose", "data_shared",
                    "key_prefix", "request_id"]
    list_filter = ["affiliate", "purpose", ("shared_at", DateFieldListFilter)]
    list_select_related = ["client", "purpose", "api_key"]
    search_fields = ["client__email", "=client__public_id"]
    ordering = ["-shared_at", "-id"]
    show_full_result_count = False
    list_per_page = 50
    fields = readonly_fields = ["client", "affiliate", "recipient_name", "recipient_country", "purpose", "data_shared",
                                "shared_at", "api_key", "request_id"]

    def access_sealed(self, record):
        return record.withheld_until is not None and record.withheld_until > timezone.localdate()

    def get_queryset(self, request):
        """A record of a withheld disclosure is Legal's alone: absent from lists, search, filters and counts for
        everyone else (support agents, privacy officers) until its notice is released."""
        queryset = super().get_queryset(request)
        if sees_withheld_disclosures(request.user):
            return queryset
        return queryset.exclude(withheld_until__gt=timezone.localdate())

    @admin.display(description=_("data shared"))
    def data_shared(self, record):
        return _labels(record.fields)

    @admin.display(description=_("API key"), ordering="api_key__prefix")
    def key_prefix(self, record):
        return record.api_key.prefix if record.api_key else "—"


class AcknowledgementFilter(admin.SimpleListFilter):
    title = _("acknowledgement")
    parameter_name = "acknowledgement"

    def lookups(self, request, model_admin):
        return [("acknowledged", _("Acknowledged")), ("waiting", _("Waiting (within the deadline)")),
                ("overdue", _("Overdue"))]

    def queryset(self, request, queryset):
        if self.value() == "acknowledged":
            return queryset.filter(acknowledged_at__isnull=False)
        if self.value() == "waiting":
            return queryset.filter(acknowledged_at__isnull=True, occurred_at__gte=overdue_before())
        if self.value() == "overdue":
            return queryset.filter(acknowledged_at__isnull=True, occurred_at__lt=overdue_before())
        return queryset


@admin.register(WithdrawalNotice)
class WithdrawalNoticeAdmin(StaffAccessAdminMixin, ReadOnlyAdmin):
    list_display = ["occurred_at", "affiliate", "client", "purpose", "reason", "acknowledged_at", "overdue"]
    list_filter = [AcknowledgementFilter, "affiliate", "purpose", "reason", ("occurred_at", DateFieldListFilter)]
    list_select_related = ["affiliate", "client", "purpose"]
    search_fields = ["client__email", "=client__public_id", "=public_id"]
    show_full_result_count = False
    list_per_page = 50
    fields = readonly_fields = ["public_id", "affiliate", "client", "purpose", "reason", "fields", "occurred_at",
                                "acknowledged_at", "overdue"]

    @admin.display(description=_("overdue"), boolean=True)
    def overdue(self, notice):
        return notice.acknowledged_at is None and notice.occurred_at < overdue_before()
