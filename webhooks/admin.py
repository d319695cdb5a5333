"""The webhooks admin (issue #19). Partner managers add recipients' endpoints (the signing secret is shown once, when
it is made or rotated, and never again), change their URL and events, enable, disable, test and delete them, and
work the delivery log; privacy officers and Legal may look. Endpoints are never hard-deleted and deliveries never
edited: they are the evidence of who was told what, when."""

import json
import uuid

from django.contrib import admin, messages
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.admin_access import StaffAccessAdminMixin
from accounts.admin_readonly import ReadOnlyAdmin

from . import admin_views
from .admin_views import SECRET_FIELDS
from .forms import EndpointChangeForm
from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .services import deliveries_redeliver, endpoint_change

PAYLOAD_PERMISSION = "webhooks.view_webhookevent"
REDELIVER_PERMISSION = "webhooks.change_webhookdelivery"


class SecretsNeverLookedUp:
    def lookup_allowed(self, lookup, value, request=None):
        # The admin lets any local field be filtered on from the query string (?secret_encrypted__startswith=…
        # would be an oracle, one character at a time): not these.
        if any(part in SECRET_FIELDS for part in lookup.split("__")):
            return False
        return super().lookup_allowed(lookup, value, request)


class EndpointStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("enabled", _("Enabled")), ("failing", _("Failing")), ("disabled", _("Disabled")),
                ("deleted", _("Deleted"))]

    def queryset(self, request, queryset):
        live = queryset.filter(deleted_at__isnull=True)
        if self.value() == "enabled":
            return live.filter(enabled=True)
        if self.value() == "failing":
            return live.filter(failing_since__isnull=False)
        if self.value() == "disabled":
            return live.filter(enabled=False)
        if self.value() == "deleted":
            return queryset.filter(deleted_at__isnull=False)
        return queryset


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(SecretsNeverLookedUp, admin.ModelAdmin):
    form = EndpointChangeForm
    change_form_template = "admin/webhooks/webhookendpoint/change_form.html"
    list_display = ["url", "affiliate", "events_shown", "enabled", "failures_in_row", "failing_since", "last_success_at",
                    "disabled_reason"]
    list_filter = [EndpointStateFilter, "affiliate"]
    list_select_related = ["affiliate"]
    search_fields = ["url", "affiliate__name"]
    fieldsets = [
        (None, {"fields": ["affiliate", "url", "events", "public_id"]}),
        (_("State"), {"fields": ["enabled", "disabled_reason", "deleted_at"]}),
        (_("Health"), {"fields": ["failures_in_row", "failing_since", "last_success_at", "alerted_at"]}),
        (_("Signing secret"), {"fields": ["secret_state"]}),
        (_("Created"), {"fields": ["created_at", "created_by"]}),
    ]
    readonly_fields = ["affiliate", "public_id", "enabled", "disabled_reason", "deleted_at", "failures_in_row",
                       "failing_since", "last_success_at", "alerted_at", "secret_state", "created_at", "created_by"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer(*SECRET_FIELDS)

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.deleted_at is not None:
            return False  # a deleted endpoint is shown as it was left
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # endpoint_delete (the "Delete…" step) keeps the row and its delivery log

    def add_view(self, request, form_url="", extra_context=None):
        return admin_views.endpoint_add(request, model_admin=self)

    def save_model(self, request, obj, form, change):
        endpoint_change(endpoint=obj, url=obj.url, events=obj.events)

    def get_urls(self):
        return [
            path("<int:object_id>/steps/<slug:step_name>/", self.admin_site.admin_view(self.step_view),
                 name="webhooks_webhookendpoint_step"),
            *super().get_urls(),
        ]

    def step_view(self, request, object_id, step_name):
        return admin_views.endpoint_step(request, object_id, step_name, model_admin=self)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        endpoint = self.get_object(request, object_id)
        extra = {}
        if endpoint is not None:
            steps = admin_views.steps_open(endpoint) if super().has_change_permission(request) else []
            extra = {"steps": [(s, reverse("admin:webhooks_webhookendpoint_step", args=[endpoint.pk, s.name]))
                               for s in steps],
                     "deliveries_url": reverse("admin:webhooks_webhookdelivery_changelist")
                     + f"?endpoint__id__exact={endpoint.pk}"}
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    @admin.display(description=_("events"))
    def events_shown(self, endpoint):
        return ", ".join(endpoint.events or [])

    @admin.display(description=_("signing secret"))
    def secret_state(self, endpoint):
        if endpoint.previous_secret_until and endpoint.previous_secret_until > timezone.now():
            return _("Rotated: the previous secret also signs until %(until)s.") % {
                "until": formats.date_format(timezone.localtime(endpoint.previous_secret_until), "DATETIME_FORMAT")}
        return _("Shown once, when it was made or last rotated; it cannot be shown again. Rotate it to get a new one.")


class AttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = readonly_fields = ["at", "status_code", "latency_ms", "error", "response_excerpt"]
    ordering = ["-at", "-id"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(StaffAccessAdminMixin, ReadOnlyAdmin):
    """The delivery log. A list row names no client; a delivery's page shows the event's payload (a client's id,
    perhaps corrected values) to those who may read events, and that look is logged as a look at the client."""

    access_list_logged = False
    change_form_template = "admin/webhooks/webhookdelivery/change_form.html"
    list_display = ["created_at", "event_type", "recipient", "endpoint_url", "status", "attempts", "last_status_code",
                    "last_latency_ms", "next_retry", "delivered_at"]
    list_filter = ["status", "event__type", "endpoint__affiliate"]
    list_select_related = ["event", "endpoint__affiliate"]
    search_fields = ["endpoint__url", "endpoint__affiliate__name"]
    show_full_result_count = False
    list_per_page = 50
    inlines = [AttemptInline]
    actions = ["redeliver_selected"]
    fields = ["webhook_id", "event_type", "recipient", "endpoint_link", "status", "attempts", "next_retry",
              "retry_until", "last_status_code", "last_latency_ms", "last_error", "delivered_at", "created_at"]
    readonly_fields = [*fields, "payload"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("endpoint__secret_encrypted", "endpoint__previous_secret_encrypted")

    def get_fields(self, request, obj=None):
        return [*self.fields, "payload"] if request.user.has_perm(PAYLOAD_PERMISSION) else list(self.fields)

    def access_client_ids(self, obj, context=None):
        fields = self.access_fields_shown(context or {})
        return [obj.event.client_id] if "payload" in fields and obj.event.client_id else []

    def get_search_results(self, request, queryset, search_term):
        """A recipient asking about a message quotes its webhook-id (msg_<32 hex digits>)."""
        term = search_term.strip()
        if term.startswith("msg_"):
            try:
                public_id = uuid.UUID(hex=term.removeprefix("msg_"))
            except ValueError:
                return queryset.none(), False
            return queryset.filter(event__public_id=public_id), False
        return super().get_search_results(request, queryset, search_term)

    def has_redeliver_permission(self, request):
        return request.user.has_perm(REDELIVER_PERMISSION)

    def get_urls(self):
        return [
            path("<int:object_id>/redeliver/", self.admin_site.admin_view(self.redeliver_view),
                 name="webhooks_webhookdelivery_redeliver"),
            *super().get_urls(),
        ]

    def redeliver_view(self, request, object_id):
        return admin_views.delivery_redeliver(request, object_id, model_admin=self)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra = {"can_redeliver": self.has_redeliver_permission(request)}
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    @admin.action(description=_("Redeliver now"), permissions=["redeliver"])
    def redeliver_selected(self, request, queryset):
        """Deliveries of a deleted endpoint stay as they are: nothing goes there any more."""
        ids = list(queryset.filter(endpoint__deleted_at__isnull=True).values_list("pk", flat=True))
        count = deliveries_redeliver(delivery_ids=ids)
        for delivery in queryset.filter(pk__in=ids):
            self.log_change(request, delivery, [{"changed": {"fields": ["status"]}}])
        self.message_user(request, ngettext(
            "%(count)d delivery is sent again now, with its webhook-id.",
            "%(count)d deliveries are sent again now, each with its webhook-id.", count) % {"count": count},
            messages.SUCCESS)

    @admin.display(description=_("webhook-id"))
    def webhook_id(self, delivery):
        return delivery.event.webhook_id

    @admin.display(description=_("event type"), ordering="event__type")
    def event_type(self, delivery):
        return delivery.event.type

    @admin.display(description=_("recipient"), ordering="endpoint__affiliate__name")
    def recipient(self, delivery):
        return delivery.endpoint.affiliate.name

    @admin.display(description=_("endpoint URL"))
    def endpoint_url(self, delivery):
        return delivery.endpoint.url

    @admin.display(description=_("endpoint"))
    def endpoint_link(self, delivery):
        url = reverse("admin:webhooks_webhookendpoint_change", args=[delivery.endpoint_id])
        return format_html('<a href="{}">{}</a>', url, delivery.endpoint.url)

    @admin.display(description=_("next retry"), ordering="next_attempt_at")
    def next_retry(self, delivery):
        if delivery.status != WebhookDelivery.Status.PENDING:
            return self.get_empty_value_display()
        return formats.date_format(timezone.localtime(delivery.next_attempt_at), "DATETIME_FORMAT")

    @admin.display(description=_("payload"))
    def payload(self, delivery):
        return format_html("<pre class=\"webhook-payload\">{}</pre>",
                           json.dumps(delivery.event.payload, indent=2, ensure_ascii=False))
