"""The breach register in the admin: privacy officers record and work breaches, Legal reads, support agents see
nothing. The list shows the 72-hour clock of each breach and filters the overdue ones; the record page shows the
clock, the affected clients' count, the audit trail and notes, and leads to the steps, the notice and the CSV."""

from django.contrib import admin
from django.contrib.admin.options import IS_POPUP_VAR
from django.db.models import Count, Q
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.roles import sees_withheld_disclosures

from . import admin_views
from .clock import breach_clock, overdue_q, running_q
from .forms import BreachForm
from .models import Breach
from .selectors import visible_q
from .services import editable_fields


class ClockFilter(admin.SimpleListFilter):
    title = _("72-hour clock")
    parameter_name = "clock"

    def lookups(self, request, model_admin):
        return [("overdue", _("Overdue")), ("running", _("Running")), ("notified", _("Authority notified"))]

    def queryset(self, request, queryset):
        if self.value() == "overdue":
            return queryset.filter(overdue_q())
        if self.value() == "running":
            return queryset.filter(running_q())
        if self.value() == "notified":
            return queryset.filter(authority_notified_at__isnull=False)
        return queryset


@admin.register(Breach)
class BreachAdmin(admin.ModelAdmin):
    form = BreachForm
    change_form_template = "admin/breaches/breach/change_form.html"
    list_display = ["reference", "title", "discovered_at", "clock", "status", "clients_count"]
    list_filter = [ClockFilter, "status"]
    search_fields = ["title"]
    list_per_page = 50
    fieldsets = [
        (_("The breach"), {"fields": ["title", "discovered_at", "occurred_from", "occurred_until", "categories",
                                      "approx_clients", "approx_records"]}),
        (_("What happened, its consequences and the measures (told to the authority and the clients)"), {"fields": [
            "nature", "nature_zh", "consequences", "consequences_zh", "measures", "measures_zh", "client_advice",
            "client_advice_zh"]}),
        (_("Contacts"), {"fields": ["dpo_contact", "authority_name"]}),
    ]

    class Media:
        css = {"all": ["css/admin-disclosures.css"]}

    def get_queryset(self, request):
        subjects = Q() if sees_withheld_disclosures(request.user) else visible_q("subjects__")
        return super().get_queryset(request).annotate(clients_count=Count("subjects", filter=subjects))

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request.user
        return form

    def save_model(self, request, obj, form, change):
        pass  # saved by breach_record / breach_update while the form was validated

    def save_related(self, request, form, formsets, change):
        pass

    def response_add(self, request, obj, post_url_continue=None):
        response = super().response_add(request, obj, post_url_continue)
        if "_addanother" in request.POST or IS_POPUP_VAR in request.POST:
            return response
        return redirect(reverse("admin:breaches_breach_change", args=[obj.pk]))

    def has_change_permission(self, request, obj=None):
        if obj is not None and not editable_fields(obj):
            return False  # notified or closed: read-only, later information is an appended note
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # the register keeps every breach (GDPR Art. 33(5))

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(admin_views.breach_record_context(request, obj))
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    @admin.display(description=_("reference"), ordering="pk")
    def reference(self, breach):
        return f"BR-{breach.pk:04d}"

    @admin.display(description=_("72-hour clock"))
    def clock(self, breach):
        clock = breach_clock(breach)
        if clock.overdue:
            return format_html('<strong class="disclosure-overdue">{}</strong>', clock.text)
        return clock.text

    @admin.display(description=_("clients"), ordering="clients_count")
    def clients_count(self, breach):
        return breach.clients_count

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            *[path(f"<int:object_id>/{name}/", wrap(self.step_view), {"step_name": name},
                   name=f"breaches_breach_{name.replace('-', '_')}") for name in admin_views.STEPS],
            path("<int:object_id>/notes/add/", wrap(self.note_add_view), name="breaches_breach_note_add"),
            path("<int:object_id>/notice/", wrap(self.notice_view), name="breaches_breach_notice"),
            path("<int:object_id>/clients.csv", wrap(self.subjects_csv_view), name="breaches_breach_subjects_csv"),
            *super().get_urls(),
        ]

    def step_view(self, request, object_id, step_name):
        return admin_views.breach_step_page(request, object_id, model_admin=self, step_name=step_name)

    def note_add_view(self, request, object_id):
        return admin_views.breach_note_add_view(request, object_id, model_admin=self)

    def notice_view(self, request, object_id):
        return admin_views.breach_notice_download(request, object_id, model_admin=self)

    def subjects_csv_view(self, request, object_id):
        return admin_views.breach_subjects_csv(request, object_id, model_admin=self)
