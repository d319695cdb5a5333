"""What the OpenAPI schema of the affiliate API says beyond what drf-spectacular finds on its own.

The API key scheme, a stable operationId for each operation, and every error an operation can answer with, in
the one shape of sharing/errors.py. Affiliates generate their clients from this schema and we test the API
against it (tests/sharing/test_api_schemathesis.py), so it must list every status code the API can send.

Must be imported once at startup, before a schema is generated (`SharingConfig.ready()` does): the extension
registers itself on import, and `extend_schema_view` annotates the views of sharing/api.py in place.
"""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import serializers

from . import api
from .errors import RETRY_AFTER_SECONDS


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "sharing.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_requirement(self, auto_schema):
        # SPECTACULAR_SETTINGS["SECURITY"] may already require this scheme of every operation; say it once.
        if {self.name: []} in spectacular_settings.SECURITY:
            return None
        return super().get_security_requirement(auto_schema)

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "Your affiliate API key, sent as `Authorization: Bearer <key>`."}


class ErrorDetail(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable: invalid_parameters, parse_error, "
                                           "not_authenticated, unknown_key, revoked_key, expired_key, "
                                           "purpose_not_agreed, transfer_not_permitted, not_found, throttled, "
                                           "temporarily_unavailable, …")
    message = serializers.CharField(help_text="For people; may change.")
    fields = serializers.DictField(
        required=False,
        help_text="Only with invalid_parameters: the problems per parameter (lists of messages; nested by "
                  "position or key for lists and objects).")


class ErrorResponse(serializers.Serializer):
    error = ErrorDetail()


def _error(description: str, code: str, message: str, **extra) -> OpenApiResponse:
    example = OpenApiExample(code, value={"error": {"code": code, "message": message, **extra}}, response_only=True)
    return OpenApiResponse(ErrorResponse, description=description, examples=[example])


def _invalid(**fields) -> OpenApiResponse:
    return _error("A parameter or the body is invalid; `fields` says which and why.", "invalid_parameters",
                  "Some parameters are invalid; see `fields`.", fields=fields)


ERRORS = {
    401: _error("No API key, or one that is unknown, revoked or expired, or the affiliate is no longer active.",
                "unknown_key", "Unknown API key."),
    403: _error("Your agreement does not cover this purpose now (`purpose_not_agreed`), or you are outside the country "
                "where the data is stored and no transfer mechanism is recorded for you (`transfer_not_permitted`, "
                "client lists only: nothing is sent).", "purpose_not_agreed",
                "Your agreement does not cover the purpose 'order-fulfilment' now."),
    404: _error("No such client, or none you may receive for this purpose: the API never says which.", "not_found",
                "Not found."),
    415: _error("The body is not JSON: send `Content-Type: application/json`.", "unsupported_media_type",
                'Unsupported media type "application/x-www-form-urlencoded" in request.'),
    429: _error("Too many requests with this key; wait for `Retry-After` seconds.", "throttled",
                "Request was throttled. Expected available in 12 seconds."),
    503: _error("The service is briefly unavailable and sent no data; retry after `Retry-After` seconds.",
                "temporarily_unavailable",
                "The service is temporarily unavailable; no data was sent. Try again shortly."),
}

HEADERS = [
    OpenApiParameter("Retry-After", OpenApiTypes.INT, OpenApiParameter.HEADER, required=True, response=[429, 503],
                     description=f"Seconds to wait before trying again ({RETRY_AFTER_SECONDS} after a 503)."),
    OpenApiParameter("WWW-Authenticate", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True, response=[401],
                     description='`Bearer realm="fulfillmen-api"`'),
]
REQUEST_ID = OpenApiParameter(
    "X-Request-Id", OpenApiTypes.UUID, OpenApiParameter.HEADER, required=True, response=[200],
    description="Names the sharing records this response left; quote it when you ask us about it.")


# Replace the parameters found in the views' serializers, to give examples (Swagger UI's "Try it out" starts
# from them, and so does schemathesis) and to say that a client's id is a UUID.
PURPOSE = OpenApiParameter(
    "purpose", {"type": "string", "pattern": r"^[-a-zA-Z0-9_]+$", "minLength": 1}, required=True,
    description="A purpose code of your agreement (GET /api/v1/agreement/ lists them).",
    examples=[OpenApiExample("Promotional sharing", value="promotional-sharing"),
              OpenApiExample("Order fulfilment", value="order-fulfilment")])
CLIENT_ID = OpenApiParameter("public_id", OpenApiTypes.UUID, OpenApiParameter.PATH,
                             description="The client's `id`, as a list page gave it.")


def _operation(operation_id: str, success, errors: list[int], *, invalid: OpenApiResponse | None = None,
               parameters=()):
    """One operation: its success response (as sharing/api.py declares it) and the errors it can answer with."""
    responses = {200: success, **{status: ERRORS[status] for status in errors}}
    if invalid is not None:
        responses[400] = invalid
    return extend_schema(operation_id=operation_id, responses=dict(sorted(responses.items())),
                         parameters=[*HEADERS, *parameters])


# Which errors each view can raise: 400 wherever parameters or a body are parsed, 403 wherever a purpose is
# checked against the agreement (agreement_for), 404 only where one client is looked up, 415 where a body is read;
# 401, 429 and 503 anywhere. (405 and 406, for a method or an Accept header the API does not offer, are left out.)
ANY = [401, 429, 503]

extend_schema_view(get=_operation(
    "clients_list", api.ClientPageSerializer, [*ANY, 403], parameters=[PURPOSE, REQUEST_ID],
    invalid=_invalid(page_size=["Ensure this value is less than or equal to 500."])))(api.ClientListView)
extend_schema_view(get=_operation(
    "clients_retrieve", api.ClientItem, [*ANY, 403, 404], parameters=[CLIENT_ID, PURPOSE, REQUEST_ID],
    invalid=_invalid(purpose=["This field is required."])))(api.ClientDetailView)
extend_schema_view(get=_operation(
    "withdrawals_list", api.WithdrawalPageSerializer, [*ANY, 403], parameters=[PURPOSE],
    invalid=_invalid(since=["Datetime has wrong format. Use one of these formats instead: "
                            "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."])))(api.WithdrawalListView)
extend_schema_view(post=_operation(
    "withdrawals_ack", api.AckResponse, [*ANY, 415], invalid=_invalid(ids={"0": ["Must be a valid UUID."]})))(
    api.WithdrawalAckView)
extend_schema_view(get=_operation("agreement_retrieve", api.AgreementResponse, ANY))(api.AgreementView)
