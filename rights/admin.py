"""The data-subject request queue in the admin, with legal holds, deadline rules, exports and rectifications.

The queue lists requests awaiting an answer first, by effective due date (an extension moves it), with Overdue and
Due-this-week markers. A request's page shows its thread; replies, notes, extensions and closing are pages of their
own that call the services. Requests are never deleted (the request log is kept at least 24 months, 11 CCR §7101).
"""

from datetime import datetime, time, timedelta

from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Case, IntegerField, Value, When
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.templatetags.static import static
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from accounts.admin_access import StaffAccessAdminMixin
from accounts.admin_readonly import ReadOnlyAdmin

from . import admin_views
from .deadlines import acknowledgement_due_on
from .forms import DeadlineRuleForm, LegalHoldForm, LegalHoldReleaseForm, RequestAddForm, RequestAssignForm, service_error_add
from .holds import LEGAL_OBLIGATION_REASON
from .models import DataExport, DataSubjectRequest, LegalHold, Rectification, ResponseDeadlineRule
from .services import (
    AWAITING,
    CLOSED,
    deadline_rule_save,
    legal_hold_may_release,
    legal_hold_release,
    request_assign,
    request_reference,
)

Status = DataSubjectRequest.Status
EFFECTIVE_DUE = Coalesce("extended_to", "due_on")
AWAITING_FIRST = Case(When(status__in=AWAITING, then=Value(0)), default=Value(1), output_field=IntegerField())
MARKERS = {"overdue": _("Overdue"), "due-soon": _("Due this week"), "paused": _("Paused for verification"),
           "ack-overdue": _("Acknowledgement overdue")}


def marker_html(marker: str | None):
    """Words first (no colour needed to tell); overdue also gets the admin's alert icon. No inline style (CSP)."""
    if marker is None:
        return ""
    alert = marker in ("overdue", "ack-overdue")
    icon = format_html('<img src="{}" alt=""> ', static("admin/img/icon-alert.svg")) if alert else ""
    return format_html(' <strong class="dsr-marker dsr-{}">{}{}</strong>', marker, icon, MARKERS[marker])


def _acknowledgement_overdue_before(today):
    """The moment before which a request's 10 business days to confirm receipt have all passed by `today`."""
    day = today
    while acknowledgement_due_on(received=day) >= today:
        day -= timedelta(days=1)
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


class DeadlineFilter(admin.SimpleListFilter):
    title = _("deadline")
    parameter_name = "deadline"

    def lookups(self, request, model_admin):
        return [("overdue", _("Overdue")), ("week", _("Due this week (7 days)")), ("later", _("Due later")),
                ("paused", _("Paused for verification")), ("ack-overdue", _("Acknowledgement overdue"))]

    def queryset(self, request, queryset):
        today = timezone.localdate()
        week_end = today + timedelta(days=admin_views.DUE_SOON_DAYS)
        if self.value() == "paused":
            return queryset.filter(clock_paused_since__isnull=False).exclude(status__in=CLOSED)
        if self.value() == "ack-overdue":
            return queryset.filter(status__in=AWAITING, acknowledged_at__isnull=True,
                                   received_at__lt=_acknowledgement_overdue_before(today))
        awaiting = (queryset.filter(status__in=AWAITING, clock_paused_since__isnull=True)
                    .annotate(effective_due=EFFECTIVE_DUE))
        if self.value() == "overdue":
            return awaiting.filter(effective_due__lt=today)
        if self.value() == "week":
            return awaiting.filter(effective_due__gte=today, effective_due__lt=week_end)
        if self.value() == "later":
            return awaiting.filter(effective_due__gte=week_end)
        return queryset


class AssigneeFilter(admin.SimpleListFilter):
    title = _("assignee")
    parameter_name = "assignee"

    def lookups(self, request, model_admin):
        from .forms import staff_who_can_work

        return [("me", _("Me")), ("none", _("Nobody")), *[(str(u.pk), u.email) for u in staff_who_can_work()]]

    def queryset(self, request, queryset):
        value = self.value()
        if value == "me":
            return queryset.filter(assignee=request.user)
        if value == "none":
            return queryset.filter(assignee__isnull=True)
        if value and value.isdigit():
            return queryset.filter(assignee_id=int(value))
        return queryset


REQUEST_FIELDSETS = [
    (_("Request"), {"fields": ["reference", "kind", "channel", "status", "received_at", "details"]}),
    (_("Requester"), {"fields": ["client_link", "requester_name", "requester_email", "language", "email_verified_at",
                                 "jurisdiction"]}),
    (_("Deadline"), {"fields": ["acknowledged_at", "due_on", "clock_paused_since", "extended_to", "extension_reason"]}),
    (_("Work"), {"fields": ["assignee"]}),
    (_("Outcome"), {"fields": ["outcome", "refusal_reason", "completed_at", "closed_by", "scheduled_for"]}),
]
REQUEST_READONLY = ["reference", "kind", "channel", "status", "received_at", "details", "client_link", "requester_name",
                    "requester_email", "language", "email_verified_at", "jurisdiction", "acknowledged_at", "due_on",
                    "clock_paused_since", "extended_to", "extension_reason",
                    "outcome", "refusal_reason", "completed_at", "closed_by", "scheduled_for"]


@admin.register(DataSubjectRequest)
class DataSubjectRequestAdmin(StaffAccessAdminMixin, admin.ModelAdmin):
    change_form_template = "admin/rights/datasubjectrequest/change_form.html"
    list_display = ["reference", "due", "status", "kind", "requester", "assignee", "channel", "received", "acknowledged"]
    list_display_links = ["reference"]
    list_filter = ["status", DeadlineFilter, "kind", "channel", "jurisdiction", AssigneeFilter]
    search_fields = ["^public_id", "requester_email", "requester_name", "client__email", "client__full_name"]
    search_help_text = _("Reference or request ID, requester's or client's e-mail address or name.")
    list_select_related = ["client", "assignee"]
    ordering = [AWAITING_FIRST.asc(), EFFECTIVE_DUE.asc(), "id"]
    list_per_page = 50
    show_full_result_count = False  # one COUNT fewer per page: it pays for the staff access log's INSERT
    access_changes_logged = False  # the form only assigns the request; the client's data is not changed here
    actions = None

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = RequestAddForm
        else:
            kwargs["form"] = RequestAssignForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": RequestAddForm._meta.fields})]
        return REQUEST_FIELDSETS

    def get_readonly_fields(self, request, obj=None):
        return REQUEST_READONLY if obj is not None else []

    def save_model(self, request, obj, form, change):
        if not change:
            return  # RequestAddForm saved through request_open while it was validated
        if "assignee" in form.changed_data:
            try:
                request_assign(request=obj, assignee=form.cleaned_data["assignee"], actor=request.user)
            except ValidationError as exc:  # closed between the page and the save: say so, change nothing
                raise PermissionDenied(" ".join(exc.messages)) from exc

    def response_add(self, request, obj, post_url_continue=None):
        response = super().response_add(request, obj, post_url_continue)
        if "_addanother" in request.POST or IS_POPUP_VAR in request.POST:
            return response
        return redirect(reverse("admin:rights_datasubjectrequest_change", args=[obj.pk]))

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.status in CLOSED:
            return False  # the outcome is part of the request log; later answers are replies on the thread
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # kept at least 24 months (11 CCR §7101); no deletion from the admin

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context.update(admin_views.request_record_context(request, obj), show_save_and_add_another=False)
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            *[path(f"<int:object_id>/{name}/", wrap(self.step_view), {"step_name": name},
                   name=f"rights_datasubjectrequest_{name}") for name in admin_views.STEPS],
            path("<int:object_id>/agent-permission/", wrap(self.agent_permission_view),
                 name="rights_datasubjectrequest_agent_permission"),
            *super().get_urls(),
        ]

    def step_view(self, request, object_id, step_name):
        response = admin_views.request_step_page(request, object_id, model_admin=self, step_name=step_name)
        return self.access_record_page(request, response, fields=["requester", "thread" if step_name == "reply" else "status"])

    def agent_permission_view(self, request, object_id):
        return admin_views.agent_permission_download(request, object_id, model_admin=self)

    # --- Columns and read-only values -------------------------------------------------------------------------

    @admin.display(description=_("reference"), ordering="public_id")
    def reference(self, dsr):
        return request_reference(dsr)

    @admin.display(description=_("received"), ordering="received_at")
    def received(self, dsr):
        return formats.date_format(timezone.localtime(dsr.received_at), "DATE_FORMAT")

    @admin.display(description=_("acknowledged"), ordering="acknowledged_at")
    def acknowledged(self, dsr):
        """When receipt was confirmed; for a request awaiting an answer without one, the 10-business-day limit."""
        if dsr.acknowledged_at is not None:
            return formats.date_format(timezone.localtime(dsr.acknowledged_at), "DATE_FORMAT")
        if dsr.status == Status.UNVERIFIED:
            return _("verification link sent")
        if dsr.status == Status.AWAITING_CLIENT:
            return _("confirmation link sent to the client")
        if dsr.status not in AWAITING:
            return "—"
        shown = _("not yet; by %(date)s") % {"date": formats.date_format(dsr.acknowledgement_due_on, "DATE_FORMAT")}
        return format_html("{}{}", shown, marker_html(admin_views.acknowledgement_marker(dsr)))

    @admin.display(description=_("requester"))
    def requester(self, dsr):
        if dsr.client_id:
            return f"{dsr.client.full_name} <{dsr.client.email}>"
        return f"{dsr.requester_name} <{dsr.requester_email}>"

    @admin.display(description=_("due"), ordering=EFFECTIVE_DUE)
    def due(self, dsr):
        shown = formats.date_format(dsr.effective_due_on, "DATE_FORMAT")
        extended = format_html(" ({})", _("extended")) if dsr.extended_to else ""
        return format_html("{}{}{}", shown, extended, marker_html(admin_views.deadline_marker(dsr)))

    @admin.display(description=_("client"))
    def client_link(self, dsr):
        if not dsr.client_id:
            return "—"
        url = reverse("admin:accounts_client_change", args=[dsr.client_id])
        return format_html('<a href="{}">{}</a> ({})', url, dsr.client, dsr.client.public_id)


class ActiveHoldFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "active"

    def lookups(self, request, model_admin):
        return [("yes", _("active")), ("no", _("released"))]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(released_at__isnull=self.value() == "yes")
        return queryset


@admin.register(LegalHold)
class LegalHoldAdmin(StaffAccessAdminMixin, admin.ModelAdmin):
    """Privacy officers and Legal set and release holds; a hold is never edited (a new one is set instead)."""

    form = LegalHoldForm
    change_form_template = "admin/rights/legalhold/change_form.html"
    list_display = ["client", "short_reason", "keep_until", "set_by", "set_at", "active"]
    list_filter = [ActiveHoldFilter]
    list_select_related = ["client", "set_by", "disclosure"]  # disclosure: for access_sealed
    search_fields = ["client__email", "client__full_name", "^client__public_id", "reason"]
    readonly_fields = ["client", "shown_reason", "keep_until", "set_by", "set_at", "released_by", "released_at",
                       "release_reason"]
    actions = None
    # A hold a disclosure keeps reads here like any hold set by Legal: no disclosure, no authority (support agents
    # never see disclosures; withheld ones are Legal's alone). Hiding it instead would betray it: a refused erasure
    # with no hold in the list can only be a withheld disclosure. Legal finds the request on the disclosure's page.

    def access_sealed(self, hold):
        return hold.disclosure_id is not None and hold.disclosure.is_withheld()

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.actor = request.user
        return form

    def get_fields(self, request, obj=None):
        return ["client", "reason", "keep_until"] if obj is None else self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        pass  # LegalHoldForm saved through legal_hold_set while it was validated

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["release_url"] = reverse("admin:rights_legalhold_release", args=[obj.pk]) \
                if obj.released_at is None and obj.disclosure_id is None and self._may_release(request, obj) else ""
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def get_urls(self):
        return [path("<int:object_id>/release/", self.admin_site.admin_view(self.release_view), name="rights_legalhold_release"),
                *super().get_urls()]

    def _may_release(self, request, hold=None):
        """A hold set by Legal is released by Legal (the same for every such hold, so none stands out)."""
        return request.user.has_perm("rights.change_legalhold") and (
            hold is None or legal_hold_may_release(hold=hold, actor=request.user))

    def release_view(self, request, object_id):
        if not self._may_release(request):
            raise PermissionDenied
        hold = get_object_or_404(self.get_queryset(request).select_related("client", "set_by"), pk=object_id)
        if not self._may_release(request, hold):
            raise PermissionDenied
        change_url = reverse("admin:rights_legalhold_change", args=[hold.pk])
        form = LegalHoldReleaseForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                legal_hold_release(hold=hold, reason=form.cleaned_data["release_reason"], actor=request.user)
            except ValidationError as exc:
                service_error_add(form, exc)
            else:
                self.log_change(request, hold, str(_("Released")))
                messages.success(request, _("The hold was released; erasure no longer waits for it."))
                return redirect(change_url)
        return TemplateResponse(request, "admin/rights/legalhold/release.html", {
            **self.admin_site.each_context(request), "opts": self.opts, "title": _("Release the legal hold"),
            "original": hold, "form": form, "change_url": change_url}, status=400 if form.errors else 200)

    @admin.display(description=_("reason"))
    def shown_reason(self, hold):
        return hold.reason or str(LEGAL_OBLIGATION_REASON)  # the stored words only: never a disclosure's

    @admin.display(description=_("reason"))
    def short_reason(self, hold):
        reason = hold.reason or str(LEGAL_OBLIGATION_REASON)  # the stored words only: never a disclosure's
        return reason if len(reason) <= 80 else reason[:79] + "…"

    @admin.display(description=_("active"), boolean=True)
    def active(self, hold):
        return hold.released_at is None


@admin.register(ResponseDeadlineRule)
class ResponseDeadlineRuleAdmin(admin.ModelAdmin):
    """Privacy officers change how long each law gives; a change applies to requests received afterwards."""

    form = DeadlineRuleForm
    list_display = ["jurisdiction", "deadline", "extension", "law"]
    fields = ["jurisdiction", "months", "days", "extension_months", "extension_days", "law"]
    readonly_fields = ["jurisdiction"]
    ordering = ["jurisdiction"]
    actions = None

    def has_add_permission(self, request):
        return False  # one rule per jurisdiction, created by the data migration

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        try:
            deadline_rule_save(rule=obj)
        except ValidationError as exc:
            raise PermissionDenied(" ".join(exc.messages)) from exc

    @admin.display(description=_("deadline"))
    def deadline(self, rule):
        return _("%(months)s month(s) %(days)s day(s)") % {"months": rule.months, "days": rule.days}

    @admin.display(description=_("longest extension"))
    def extension(self, rule):
        return _("%(months)s month(s) %(days)s day(s)") % {"months": rule.extension_months, "days": rule.extension_days}


@admin.register(DataExport)
class DataExportAdmin(StaffAccessAdminMixin, ReadOnlyAdmin):
    list_display = ["public_id", "client", "status", "created_at", "ready_at", "expires_at", "downloads"]
    list_filter = ["status"]
    list_select_related = ["client"]
    search_fields = ["=public_id", "client__email"]
    # The file itself is not shown: only its client downloads it, from the portal.
    fields = readonly_fields = ["public_id", "request", "client", "status", "size", "sha256", "created_at", "ready_at",
                                "expires_at", "downloads"]


@admin.register(Rectification)
class RectificationAdmin(StaffAccessAdminMixin, ReadOnlyAdmin):
    list_display = ["client", "field", "at", "by", "request"]
    list_filter = ["field"]
    list_select_related = ["client", "by", "request"]
    search_fields = ["client__email", "^client__public_id"]
    fields = readonly_fields = ["client", "field", "old_digest", "new_digest", "at", "by", "request"]


from . import admin_appeals  # noqa: E402,F401  (registers the appeals' admin)
