"""The disclosures admin: Legal's queue of requests from authorities, ordered by deadline; the request form; and the
record page with its decisions, audit trail, notes and documents. Privacy officers read; support agents see nothing.

Every write is a service's: the form saves through `disclosure_record` / `disclosure_update`, the decision pages and
actions through the workflow services. Once decided, a record is shown read-only (the service refuses edits too).
"""

from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, F
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import formats
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_countries import countries

from accounts.access_log import Action
from accounts.admin_access import StaffAccessAdminMixin

from . import admin_views
from .forms import DisclosureForm
from .models import Disclosure
from .selectors import sees_withheld_disclosures, withheld_q
from .services import EDITABLE_STATUSES, disclosure_submit_for_review

Status = Disclosure.Status

BASIS_SHORT = {Disclosure.LegalBasis.LEGAL_OBLIGATION: _("Legal obligation"),
               Disclosure.LegalBasis.LEGAL_CLAIMS: _("Legal claims (legitimate interest)"),
               Disclosure.LegalBasis.VITAL_INTERESTS: _("Vital interests")}
DEADLINE_ORDER = F("response_deadline").asc(nulls_last=True)

FIELDSETS = [
    (_("Authority"), {"fields": ["authority_name", "authority_kind", "authority_country", "authority_address"]}),
    (_("Request"), {"fields": ["request_type", "legal_basis", "legal_instrument", "reference_number", "received_on",
                               "response_deadline"]}),
    (_("Data requested"), {"fields": ["categories_requested"]}),
    (_("Delayed notice"), {"fields": ["withhold_until", "withhold_reference"], "description": _(
        "Only when the authority requires in writing that the client is not told: give the date it ends and the "
        "reference of that requirement. Until then the client sees nothing of this disclosure.")}),
    (_("Clients"), {"fields": ["clients"]}),
]
# Shown instead of the form fields when the record is read-only (labels, not codes).
READ_ONLY_NAMES = {"authority_country": "authority_country_name", "categories_requested": "categories_requested_labels"}

class ReceivedYearFilter(admin.SimpleListFilter):
    title = _("year received")
    parameter_name = "received_year"

    def lookups(self, request, model_admin):
        years = model_admin.get_queryset(request).dates("received_on", "year", order="DESC")  # withheld ones: Legal's
        return [(str(d.year), str(d.year)) for d in years]

    def queryset(self, request, queryset):
        if self.value() and self.value().isdigit():
            return queryset.filter(received_on__year=int(self.value()))
        return queryset

@admin.register(Disclosure)
class DisclosureAdmin(StaffAccessAdminMixin, admin.ModelAdmin):
    form = DisclosureForm
    change_form_template = "admin/disclosures/disclosure/change_form.html"
    list_display = ["reference_number", "authority_name", "authority_country", "request_type", "legal_basis_short",
                    "status", "deadline", "clients_count"]
    list_filter = ["status", "authority_country", "request_type", "legal_basis", ReceivedYearFilter]
    search_fields = ["reference_number", "authority_name", "subjects__client__email", "=subjects__client__public_id"]
    ordering = [DEADLINE_ORDER, "id"]
    list_per_page = 50
    actions = ["submit_for_review", "approve_one", "reject_one", "disclose_one"]
    access_list_logged = False  # the queue shows no client's data; a record's page lists its clients
    access_detail_action = Action.DISCLOSURE
    # Choosing the clients of a request (the form's client search) is a look in a disclosure.
    access_autocomplete_sources, access_autocomplete_action = ("disclosures.disclosuresubject",), Action.DISCLOSURE

    class Media:
        css = {"all": ["css/admin-disclosures.css"]}

    def get_queryset(self, request):
        """Withheld requests are Legal's alone: absent from the queue, its search, filters and counts for others."""
        queryset = super().get_queryset(request).annotate(clients_count=Count("subjects"))
        return queryset if sees_withheld_disclosures(request.user) else queryset.exclude(withheld_q())

    def access_client_ids(self, disclosure, context=None):
        return [subject.client_id for subject in (context or {}).get("subjects", [])]

    def access_fields_shown(self, context):
        return ["full_name", "email", "categories_requested", "categories_disclosed"]

    def get_fieldsets(self, request, obj=None):
        if obj is None or self.has_change_permission(request, obj):
            return FIELDSETS
        # Read-only: labels instead of codes; the clients are listed with their details under the form.
        return [(name, {**options, "fields": [READ_ONLY_NAMES.get(f, f) for f in options["fields"]]})
                for name, options in FIELDSETS if options["fields"] != ["clients"]]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)  # a new class for each request
        form.actor = request.user
        return form

    def save_model(self, request, obj, form, change):
        pass  # the form saved through disclosure_record / disclosure_update while it was validated

    def save_related(self, request, form, formsets, change):
        pass  # the clients concerned were saved by the same service call

    def response_add(self, request, obj, post_url_continue=None):
        response = super().response_add(request, obj, post_url_continue)
        if "_addanother" in request.POST or IS_POPUP_VAR in request.POST:
            return response
        # Documents, notes and "Submit for review…" are on the record: go there, not back to the queue.
        return redirect(reverse("admin:disclosures_disclosure_change", args=[obj.pk]))

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.status not in EDITABLE_STATUSES:
            return False  # decided or disclosed: corrections are appended notes
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    # Refused before the record is looked up: who may not read disclosures gets the same answer for a withheld one,
    # a visible one and an id that does not exist, so no answer tells which ids are Legal's alone.
    def change_view(self, request, object_id, form_url="", extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return super().change_view(request, object_id, form_url, extra_context)

    def history_view(self, request, object_id, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return super().history_view(request, object_id, extra_context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(admin_views.disclosure_record_context(request, obj))
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    # --- Columns and read-only values -------------------------------------------------------------------------

    @admin.display(description=_("response deadline"), ordering=DEADLINE_ORDER)
    def deadline(self, disclosure):
        if disclosure.response_deadline is None:
            return "—"
        shown = formats.date_format(disclosure.response_deadline, "DATE_FORMAT")
        if admin_views.is_overdue(disclosure):
            return format_html('{} <strong class="disclosure-overdue">{}</strong>', shown, _("Overdue"))
        return shown

    @admin.display(description=_("legal basis"), ordering="legal_basis")
    def legal_basis_short(self, disclosure):
        return BASIS_SHORT.get(disclosure.legal_basis, disclosure.legal_basis)

    @admin.display(description=_("clients"), ordering="clients_count")
    def clients_count(self, disclosure):
        return disclosure.clients_count

    @admin.display(description=_("Authority's country"))
    def authority_country_name(self, disclosure):
        return f"{countries.name(disclosure.authority_country) or '?'} ({disclosure.authority_country})"

    @admin.display(description=_("Data requested"))
    def categories_requested_labels(self, disclosure):
        return admin_views.category_labels(disclosure.categories_requested)

    # --- Decision pages, notes, documents ---------------------------------------------------------------------

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            *[path(f"<int:object_id>/{name}/", wrap(self.decision_view), {"step_name": name},
                   name=f"disclosures_disclosure_{name}") for name in admin_views.STEPS],
            path("<int:object_id>/notes/add/", wrap(self.note_add_view), name="disclosures_disclosure_note_add"),
            path("<int:object_id>/documents/add/", wrap(self.document_add_view), name="disclosures_disclosure_document_add"),
            path("<int:object_id>/documents/<int:document_id>/", wrap(self.document_download_view),
                 name="disclosures_disclosure_document"),
            *super().get_urls(),
        ]

    def decision_view(self, request, object_id, step_name):
        return self.access_record_page(
            request, admin_views.disclosure_decision_page(request, object_id, model_admin=self, step_name=step_name))

    def note_add_view(self, request, object_id):
        return admin_views.disclosure_note_add_view(request, object_id, model_admin=self)

    def document_add_view(self, request, object_id):
        return admin_views.disclosure_document_add_view(request, object_id, model_admin=self)

    def document_download_view(self, request, object_id, document_id):
        return admin_views.disclosure_document_download(request, object_id, document_id, model_admin=self)

    # --- Actions ----------------------------------------------------------------------------------------------

    @admin.action(description=_("Submit the selected requests for review"), permissions=["change"])
    def submit_for_review(self, request, queryset):
        submitted = 0
        for disclosure in queryset:
            try:
                disclosure_submit_for_review(disclosure=disclosure, actor=request.user)
            except (ValidationError, PermissionDenied) as exc:
                reason = " ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
                self.message_user(request, _("%(disclosure)s was not submitted: %(reason)s")
                                  % {"disclosure": disclosure, "reason": reason}, messages.ERROR)
            else:
                self.log_change(request, disclosure, [{"changed": {"fields": ["status"]}}])
                submitted += 1
        if submitted:
            self.message_user(request, ngettext("%(count)d request was submitted for review.",
                                                "%(count)d requests were submitted for review.", submitted)
                              % {"count": submitted}, messages.SUCCESS)

    def _decide_one(self, request, queryset, step_name):
        """Approving, rejecting and recording a disclosure each need their own reasons: one record at a time."""
        if queryset.count() != 1:
            self.message_user(request, _("Choose exactly one request: each decision is taken on its own page."),
                              messages.WARNING)
            return None
        return redirect(reverse(f"admin:disclosures_disclosure_{step_name}", args=[queryset.get().pk]))

    @admin.action(description=_("Approve the selected request…"), permissions=["change"])
    def approve_one(self, request, queryset):
        return self._decide_one(request, queryset, "approve")

    @admin.action(description=_("Reject the selected request…"), permissions=["change"])
    def reject_one(self, request, queryset):
        return self._decide_one(request, queryset, "reject")

    @admin.action(description=_("Record what was disclosed for the selected request…"), permissions=["change"])
    def disclose_one(self, request, queryset):
        return self._decide_one(request, queryset, "disclose")
