"""The consent admin: the purpose catalogue and default rules (editable by privacy officers), and the ledger and
current states, which nobody edits here: every change is a new event, recorded through `consent_record`."""

from django.contrib import admin
from django.contrib.admin import DateFieldListFilter
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.admin_access import StaffAccessAdminMixin
from accounts.admin_readonly import ReadOnlyAdmin
from amendments.models import PolicyVersion

from . import admin_views
from .forms import PurposeForm
from .models import ConsentDefaultRule, ConsentEvent, ConsentEventPersonalData, ConsentState, LegalBasis, Purpose
from .policy_answers import policy_objections
from .services import consent_default_rule_save, purpose_save


@admin.register(Purpose)
class PurposeAdmin(admin.ModelAdmin):
    form = PurposeForm
    list_display = ["code", "title_en", "legal_basis", "recipient_class", "withdrawable", "parent"]
    list_filter = ["legal_basis", "recipient_class", "withdrawable"]
    search_fields = ["code", "title_en", "title_zh_hans"]

    def get_readonly_fields(self, request, obj=None):
        # Ledger events and their hashes name the code; the legal basis decides whether consent exists at all. A
        # per-recipient purpose's parent is set by the sharing app when an agreement is made, never by hand.
        return ["code", "legal_basis", "parent"] if obj is not None else ["parent"]

    def save_model(self, request, obj, form, change):
        purpose_save(purpose=obj)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ConsentDefaultRule)
class ConsentDefaultRuleAdmin(admin.ModelAdmin):
    list_display = ["jurisdiction", "purpose_or_all", "model", "note"]
    list_filter = ["jurisdiction", "granted_by_default"]
    list_select_related = ["purpose"]
    fields = ["jurisdiction", "purpose", "granted_by_default", "note"]

    def save_model(self, request, obj, form, change):
        consent_default_rule_save(rule=obj)

    @admin.display(description=_("purpose"), ordering="purpose__code")
    def purpose_or_all(self, rule):
        return rule.purpose or _("all consent purposes")

    @admin.display(description=_("default"), ordering="granted_by_default")
    def model(self, rule):
        return _("opt-out (granted until the client objects)") if rule.granted_by_default else _("opt-in (asked first)")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "purpose":
            kwargs["queryset"] = Purpose.objects.filter(legal_basis=LegalBasis.CONSENT)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def _personal(event) -> ConsentEventPersonalData | None:
    try:
        return event.personal
    except ConsentEventPersonalData.DoesNotExist:  # erased: the hashes still verify without it
        return None


def _personal_field(attribute, description):
    @admin.display(description=description)
    def show(self, event):
        personal = _personal(event)
        if personal is None:
            return _("(erased)")
        return getattr(personal, attribute) or "—"
    return show


class PolicyObjectionFilter(admin.SimpleListFilter):
    """The privacy officer's list of clients who object to a material policy change and have not changed their mind."""

    title = _("objections standing to policy version")
    parameter_name = "objections_to"

    def lookups(self, request, model_admin):
        versions = PolicyVersion.objects.filter(published_at__isnull=False, is_material=True).order_by("-effective_at")
        return [(str(v.pk), v.label) for v in versions]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        version = PolicyVersion.objects.filter(pk=self.value()).first() if self.value().isdigit() else None
        return queryset.filter(pk__in=policy_objections(version=version).values("pk")) if version else queryset.none()


@admin.register(ConsentEvent)
class ConsentEventAdmin(StaffAccessAdminMixin, ReadOnlyAdmin):
    change_list_template = "admin/consent/consentevent/change_list.html"
    list_display = ["client", "sequence", "purpose", "action", "channel", "policy_version", "occurred_at", "recorded_by"]
    list_filter = [PolicyObjectionFilter, "purpose", "action", "channel", ("occurred_at", DateFieldListFilter)]
    list_select_related = ["client", "purpose", "policy_version", "recorded_by"]
    search_fields = ["client__email", "=client__public_id"]
    show_full_result_count = False
    list_per_page = 50
    fieldsets = [
        (None, {"fields": ["receipt_id", "client", "sequence", "purpose", "action", "channel", "policy_version",
                           "occurred_at", "recorded_at", "recorded_by", "idempotency_key"]}),
        (_("Personal values (erasable)"), {"fields": ["ip_address", "user_agent", "reason", "evidence_reference",
                                                      "evidence_received_on", "evidence_file_link", "evidence_sha256"]}),
        (_("Hash chain"), {"fields": ["personal_digest", "previous_hash", "entry_hash"]}),
    ]
    readonly_fields = [name for _title, options in fieldsets for name in options["fields"]]

    ip_address = _personal_field("ip_address", _("IP address"))
    user_agent = _personal_field("user_agent", _("user agent"))
    reason = _personal_field("reason", _("reason or note"))
    evidence_reference = _personal_field("evidence_reference", _("evidence reference"))
    evidence_received_on = _personal_field("evidence_received_on", _("evidence received on"))
    evidence_sha256 = _personal_field("evidence_sha256", _("evidence file SHA-256"))

    @admin.display(description=_("evidence file"))
    def evidence_file_link(self, event):
        personal = _personal(event)
        if personal is None or not personal.evidence_file:
            return "—"
        url = reverse("admin:consent_consentevent_evidence", args=[event.pk])
        return format_html('<a href="{}" download>{}</a>', url, _("Download the scan"))

    def get_object(self, request, object_id, from_field=None):
        queryset = self.get_queryset(request).select_related(*self.list_select_related, "personal")
        try:
            return queryset.get(pk=int(object_id))
        except (ValueError, ConsentEvent.DoesNotExist):
            return None

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "can_record_offline": request.user.has_perm(admin_views.RECORD_PERMISSION),
            "can_import_csv": request.user.has_perm(admin_views.IMPORT_PERMISSION),
        }
        return super().changelist_view(request, extra_context=extra_context)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("record/", wrap(self.record_view), name="consent_consentevent_record"),
            path("import/", wrap(self.import_view), name="consent_consentevent_import"),
            path("<int:object_id>/evidence/", wrap(self.evidence_view), name="consent_consentevent_evidence"),
            *super().get_urls(),
        ]

    def record_view(self, request):
        return admin_views.record_offline_consent(request, model_admin=self)

    def import_view(self, request):
        return admin_views.import_consent_csv(request, model_admin=self)

    def evidence_view(self, request, object_id):
        return admin_views.evidence_download(request, object_id, model_admin=self)


@admin.register(ConsentState)
class ConsentStateAdmin(StaffAccessAdminMixin, ReadOnlyAdmin):
    list_display = ["client", "purpose", "granted", "changed_at"]
    list_filter = ["purpose", "granted"]
    list_select_related = ["client", "purpose"]
    search_fields = ["client__email", "=client__public_id"]
    show_full_result_count = False
    fields = readonly_fields = ["client", "purpose", "granted", "changed_at", "last_event"]
