"""Policy versions in the admin: drafts are written here through `policy_draft_save` and published on their own page
through `policy_publish`; a published version is shown, never changed or deleted (the database refuses it too).
Its notices are followed on its "Notices" page; each delivery row is evidence, shown read-only."""

from django.contrib import admin
from django.db.models import Subquery
from django.urls import path, reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from accounts.admin_access import StaffAccessAdminMixin
from accounts.admin_readonly import ReadOnlyAdmin

from . import admin_views
from .forms import PolicyDraftForm
from .models import NoticeDelivery, PolicyVersion
from .rendering import policy_html
from .services import DRAFT_FIELDS, policy_draft_save

STATUS_LABELS = {
    "draft": _("draft"),
    "upcoming": _("upcoming"),
    "in-force": _("in force"),
    "published": _("published (superseded)"),
}


def version_status(version: PolicyVersion, *, now=None) -> str:
    """draft, upcoming, in-force or published; needs the `in_force_id` annotation of the admin's queryset."""
    now = now or timezone.now()
    if not version.is_published:
        return "draft"
    if version.effective_at > now:
        return "upcoming"
    return "in-force" if version.pk == getattr(version, "in_force_id", None) else "published"


class PublicationFilter(admin.SimpleListFilter):
    title = _("publication")
    parameter_name = "published"

    def lookups(self, request, model_admin):
        return [("no", _("drafts")), ("yes", _("published"))]

    def queryset(self, request, queryset):
        if self.value() in ("no", "yes"):
            return queryset.filter(published_at__isnull=self.value() == "no")
        return queryset


def _in_force_id():
    """The id `policy_in_force()` would return, as a subquery: one query for the whole list, not one per row."""
    in_force = PolicyVersion.objects.filter(published_at__isnull=False, effective_at__lte=timezone.now())
    return Subquery(in_force.order_by("-effective_at", "-id").values("id")[:1])


@admin.register(PolicyVersion)
class PolicyVersionAdmin(admin.ModelAdmin):
    form = PolicyDraftForm
    change_form_template = "admin/amendments/policyversion/change_form.html"
    list_display = ["label", "is_material", "published_at", "effective_at", "status"]
    list_filter = [PublicationFilter, "is_material"]
    search_fields = ["label", "summary"]
    fieldsets = [
        (None, {"fields": ["label", "is_material", "summary", "summary_zh_hans"]}),
        (_("Text"), {"fields": ["body_en", "body_zh_hans"]}),
        (_("Publication"), {"fields": ["status", "published_at", "effective_at", "published_by"]}),
        (_("Preview"), {"fields": ["preview_en", "preview_zh_hans"], "classes": ["collapse"]}),
    ]
    readonly_fields = ["status", "published_at", "effective_at", "published_by", "preview_en", "preview_zh_hans"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("published_by").annotate(in_force_id=_in_force_id())

    def get_fieldsets(self, request, obj=None):
        if obj is None:  # a new draft: nothing to show about publication yet
            return self.fieldsets[:2]
        return self.fieldsets

    def save_model(self, request, obj, form, change):
        policy_draft_save(version=obj, **{name: form.cleaned_data[name] for name in DRAFT_FIELDS})

    def has_change_permission(self, request, obj=None):
        # A published version never changes: it is shown read-only, and a correction is a new version.
        if obj is not None and obj.is_published:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_published:
            return False
        return super().has_delete_permission(request, obj)

    def get_urls(self):
        return [
            path("<int:object_id>/publish/", self.admin_site.admin_view(self.publish_view),
                 name="amendments_policyversion_publish"),
            path("<int:object_id>/deliveries/", self.admin_site.admin_view(self.deliveries_view),
                 name="amendments_policyversion_deliveries"),
            path("<int:object_id>/deliveries/resend/", self.admin_site.admin_view(self.resend_view),
                 name="amendments_policyversion_deliveries_resend"),
            *super().get_urls(),
        ]

    def view_on_site(self, version):
        return reverse("policy:version", args=[version.label]) if version.is_published else None

    def publish_view(self, request, object_id):
        return admin_views.policy_publish_page(request, object_id, model_admin=self)

    def deliveries_view(self, request, object_id):
        return admin_views.policy_deliveries_page(request, object_id, model_admin=self)

    def resend_view(self, request, object_id):
        return admin_views.policy_deliveries_resend(request, object_id, model_admin=self)

    @admin.display(description=_("status"))
    def status(self, version):
        return STATUS_LABELS[version_status(version)]

    @admin.display(description=_("English text as clients will see it"))
    def preview_en(self, version):
        return self._preview(version.body_en)

    @admin.display(description=_("Chinese text as clients will see it"))
    def preview_zh_hans(self, version):
        return self._preview(version.body_zh_hans)

    @staticmethod
    def _preview(text):
        # policy_html keeps only harmless tags (nh3): a <script> in a draft never reaches this page.
        return mark_safe(policy_html(text)) if (text or "").strip() else "—"  # nosec B308 B703  # nh3-sanitised


@admin.register(NoticeDelivery)
class NoticeDeliveryAdmin(StaffAccessAdminMixin, ReadOnlyAdmin):
    list_display = ["id", "version", "client_email", "channel", "kind", "status", "attempts", "reason", "created_at", "sent_at"]
    list_filter = ["version", "channel", "status", "kind"]
    list_select_related = ["version", "client"]
    search_fields = ["client__email"]
    show_full_result_count = False  # one row per client and channel per version: the table grows fast
    ordering = ["-id"]
    fields = readonly_fields = ["version", "client", "channel", "kind", "status", "attempts", "reason", "created_at",
                                "claimed_at", "retry_at", "sent_at"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("version", "client")

    @admin.display(description=_("client email"), ordering="client__email")
    def client_email(self, delivery):
        return delivery.client.email
