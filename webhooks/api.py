"""The affiliate API for webhook endpoints (/api/v1/webhooks/, issue #19): a recipient adds, lists, changes, rotates,
tests and removes its own endpoints, with the API key it already pulls its feed with.

Views derive from sharing's AffiliateAPIView (API key, throttle per key, `self.affiliate`), parse with serializers and
call webhooks/services.py; every endpoint is looked up among the caller's own, so another recipient's id, a deleted
one and a malformed one all answer the same 404. A signing secret is shown only in the answer that makes it
(create, rotate), which like every answer to a key carries `Cache-Control: no-store` (accounts/no_store.py).
"""

import uuid
from collections.abc import Mapping

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import Http404
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from sharing.api import AffiliateAPIView, ApiKeyThrottle
from sharing.schema import ERRORS, HEADERS, _error

from .events import test_event_send
from .models import SUBSCRIBABLE, EventType, WebhookEndpoint
from .services import endpoint_change, endpoint_create, endpoint_delete, endpoint_rotate, events_allowed

EVENT_CHOICES = [(value, label) for value, label in EventType.choices if value in SUBSCRIBABLE]
DISABLED_MESSAGE = 'The endpoint is disabled: enable it (PATCH {"enabled": true}) before testing it.'


class StrictSerializer(serializers.Serializer):
    """A request body with a field it does not know is refused (a misspelt `enabled` is not silently ignored)."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = sorted(str(name)[:50] for name in set(data) - set(self.fields))
            if unknown:
                raise exceptions.ValidationError({name: ["Unknown field."] for name in unknown[:10]})
        return super().to_internal_value(data)


class StrictSchema(OpenApiSerializerExtension):
    """The schema says so too (`additionalProperties: false`)."""

    target_class = StrictSerializer
    match_subclasses = True

    def map_serializer(self, auto_schema, direction):
        return {**auto_schema._map_serializer(self.target, direction, bypass_extensions=True),
                "additionalProperties": False}


def _events_field(**kwargs):
    return serializers.ListField(child=serializers.ChoiceField(choices=EVENT_CHOICES), min_length=1,
                                 max_length=len(EVENT_CHOICES) * 2, **kwargs)


URL_HELP = ("Where to POST the events: https, on a public internet address (never a private, loopback or link-local "
            "one), at most 500 characters.")
EVENTS_HELP = "The event types to send here (GET /api/v1/webhooks/event-types/ lists those you may choose)."


class EndpointCreateRequest(StrictSerializer):
    url = serializers.URLField(max_length=500, help_text=URL_HELP)
    events = _events_field(help_text=EVENTS_HELP)


class EndpointChangeRequest(StrictSerializer):
    url = serializers.URLField(max_length=500, required=False, help_text=URL_HELP)
    events = _events_field(required=False, help_text=EVENTS_HELP)
    enabled = serializers.BooleanField(required=False, help_text="false stops deliveries (they wait); true resumes "
                                                                 "them and sends what waited.")


class EndpointItem(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    url = serializers.URLField()
    events = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_CHOICES))
    enabled = serializers.BooleanField()
    disabled_reason = serializers.CharField(allow_blank=True, help_text="Why it is disabled (by hand, 410 Gone, …).")
    failures_in_row = serializers.IntegerField(help_text="Failed attempts since the last success.")
    last_success_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class EndpointList(serializers.Serializer):
    results = EndpointItem(many=True)


class EndpointCreated(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    url = serializers.URLField()
    events = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_CHOICES))
    secret = serializers.CharField(help_text="`whsec_…`: verify our signatures with it. Shown only now.")


class SecretRotated(serializers.Serializer):
    id = serializers.UUIDField()
    secret = serializers.CharField(help_text="The new `whsec_…` secret, shown only now; it signs from now on.")
    previous_secret_valid_until = serializers.DateTimeField(
        allow_null=True, help_text="Until then every message carries a signature with the old secret as well (null: the "
                                   "old secret could no longer be read, so it signs nothing more).")


class TestEventSent(serializers.Serializer):
    event_id = serializers.CharField(help_text="The `webhook-id` (`msg_…`) the test event arrives with.")


class EventTypeItem(serializers.Serializer):
    type = serializers.ChoiceField(choices=EVENT_CHOICES)
    description = serializers.CharField()


class EventTypeList(serializers.Serializer):
    event_types = EventTypeItem(many=True)


def _bad_request(exc: DjangoValidationError) -> exceptions.ValidationError:
    """A service's refusal, in the API's error shape (invalid_parameters, with the fields)."""
    if hasattr(exc, "error_dict"):
        return exceptions.ValidationError(exc.message_dict)
    return exceptions.ValidationError({"non_field_errors": exc.messages})


def _parse(serializer_class, data) -> dict:
    params = serializer_class(data=data)
    params.is_valid(raise_exception=True)
    return params.validated_data


def _endpoint_of(affiliate, endpoint_id: str, *, lock: bool = False) -> WebhookEndpoint:
    """The caller's own endpoint, not deleted; anything else is the same 404, with no hint whether it exists."""
    try:
        public_id = uuid.UUID(endpoint_id)
    except ValueError:
        raise Http404 from None
    rows = WebhookEndpoint.objects.filter(affiliate=affiliate, public_id=public_id, deleted_at__isnull=True)
    endpoint = (rows.select_for_update() if lock else rows).first()
    if endpoint is None:
        raise Http404
    return endpoint


def _item(endpoint: WebhookEndpoint) -> dict:
    return EndpointItem(endpoint).data


class TestEventThrottle(ApiKeyThrottle):
    """Test events per API key: each one is a POST we make to the endpoint's URL, which need not be the caller's."""

    scope = "webhook-test"
    rate = "12/minute"


# --- The schema: success and every error each operation can answer with, in sharing/schema.py's error shape -------

CONTROL = "; or the path holds control characters (`invalid_characters`)"
INVALID = _error("The body is invalid (a private or non-https URL, an unknown event type or one your agreement does "
                 f"not let you receive, an unknown field, too many endpoints): `fields` says which and why{CONTROL}.",
                 "invalid_parameters", "Some parameters are invalid; see `fields`.",
                 fields={"url": ["The URL must start with https://."]})
DISABLED = _error(f"The endpoint is disabled: enable it before testing it{CONTROL}.", "invalid_parameters",
                  "Some parameters are invalid; see `fields`.", fields={"enabled": [DISABLED_MESSAGE]})
PATH_INVALID = _error("The path holds control characters.", "invalid_characters",
                      "The request's path holds control characters.")
NOT_FOUND = _error("No endpoint of yours has this id (or it was deleted): the API never says whether it exists.",
                   "not_found", "Not found.")
ENDPOINT_ID = OpenApiParameter("endpoint_id", OpenApiTypes.UUID, OpenApiParameter.PATH,
                               description="The endpoint's `id`, as creating or listing it gave it.")
ANY = [401, 429, 503]


def _operation(operation_id: str, summary: str, success: dict, errors: list[int], *, request=None,
               invalid: OpenApiResponse | None = None, found=False):
    responses = {**success, **{code: ERRORS[code] for code in errors}}
    if invalid is not None:
        responses[400] = invalid
    if found:
        responses.setdefault(400, PATH_INVALID)
        responses[404] = NOT_FOUND
    return extend_schema(operation_id=operation_id, summary=summary, request=request,
                         responses=dict(sorted(responses.items())),
                         parameters=[*HEADERS, *([ENDPOINT_ID] if found else [])])


# --- Views ------------------------------------------------------------------------------------------------------------

class EndpointListView(AffiliateAPIView):
    @_operation("webhook_endpoints_list", "Your webhook endpoints (never their secrets)", {200: EndpointList}, ANY)
    def get(self, request):
        endpoints = WebhookEndpoint.objects.filter(affiliate=self.affiliate, deleted_at__isnull=True).order_by("created_at", "id")
        return Response({"results": [_item(e) for e in endpoints]})

    @_operation("webhook_endpoints_create", "Add an endpoint; its signing secret is in this answer only",
                {201: EndpointCreated}, [*ANY, 415], request=EndpointCreateRequest, invalid=INVALID)
    def post(self, request):
        data = _parse(EndpointCreateRequest, request.data)
        try:
            endpoint, secret = endpoint_create(affiliate=self.affiliate, url=data["url"], events=data["events"])
        except DjangoValidationError as exc:
            raise _bad_request(exc) from None
        body = {"id": str(endpoint.public_id), "url": endpoint.url, "events": endpoint.events, "secret": secret}
        return Response(body, status=status.HTTP_201_CREATED)


class EndpointDetailView(AffiliateAPIView):
    @_operation("webhook_endpoints_retrieve", "One of your endpoints, with its health", {200: EndpointItem}, ANY,
                found=True)
    def get(self, request, endpoint_id):
        return Response(_item(_endpoint_of(self.affiliate, endpoint_id)))

    @_operation("webhook_endpoints_update", "Change an endpoint's URL or events, or disable or enable it",
                {200: EndpointItem}, [*ANY, 415], request=EndpointChangeRequest, invalid=INVALID, found=True)
    def patch(self, request, endpoint_id):
        data = _parse(EndpointChangeRequest, request.data)
        try:
            with transaction.atomic():  # locked: a delivery's health update neither waits out nor overwrites this
                endpoint = endpoint_change(endpoint=_endpoint_of(self.affiliate, endpoint_id, lock=True), **data)
        except DjangoValidationError as exc:
            raise _bad_request(exc) from None
        return Response(_item(endpoint))

    @_operation("webhook_endpoints_destroy", "Remove an endpoint: nothing more is sent to it",
                {204: OpenApiResponse(description="Removed.")}, ANY, found=True)
    def delete(self, request, endpoint_id):
        endpoint_delete(endpoint=_endpoint_of(self.affiliate, endpoint_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class EndpointRotateView(AffiliateAPIView):
    @_operation("webhook_endpoints_rotate", "A new signing secret; the old one keeps signing for the overlap",
                {200: SecretRotated}, ANY, found=True)
    def post(self, request, endpoint_id):
        endpoint = _endpoint_of(self.affiliate, endpoint_id)
        secret = endpoint_rotate(endpoint=endpoint)
        body = SecretRotated({"id": endpoint.public_id, "secret": secret,
                              "previous_secret_valid_until": endpoint.previous_secret_until}).data
        return Response(body)


class EndpointTestView(AffiliateAPIView):
    throttle_classes = [ApiKeyThrottle, TestEventThrottle]

    @_operation("webhook_endpoints_test", "Send a `webhook.test` event to this endpoint",
                {202: TestEventSent}, ANY, invalid=DISABLED, found=True)
    def post(self, request, endpoint_id):
        endpoint = _endpoint_of(self.affiliate, endpoint_id)
        if not endpoint.enabled:
            raise exceptions.ValidationError({"enabled": [DISABLED_MESSAGE]})
        event = test_event_send(endpoint=endpoint)
        return Response({"event_id": event.webhook_id}, status=status.HTTP_202_ACCEPTED)


class EventTypeListView(AffiliateAPIView):
    @_operation("webhook_event_types_list", "The event types you may subscribe to", {200: EventTypeList}, ANY)
    def get(self, request):
        labels = dict(EventType.choices)
        return Response({"event_types": [{"type": t, "description": str(labels[t])}
                                         for t in events_allowed(affiliate=self.affiliate)]})
