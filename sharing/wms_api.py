"""The internal API through which Fulfillmen's own WMS records partner engagements (issue #18):
`POST /api/internal/v1/engagements/` with `Authorization: Bearer fwms_…`.

A WMS key (sharing.WmsKey, made by `manage.py create_wms_key`) is not an affiliate's key: an affiliate's key is
answered 403, so a partner can never record an engagement — and so widen its own feed — for itself. Not in the
affiliates' OpenAPI schema: affiliates have nothing to do here.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import authentication, exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Client

from .api import InstantField
from .authentication import AffiliatePrincipal, ApiKeyAuthentication, KeyGuessing, _failed
from .engagements import ORDER_REFERENCE_MAX, Outcome, engagement_record
from .keys import WMS_KEY_PREFIX, hashes_match, key_prefix
from .models import Affiliate, PartnerEngagement, WmsKey
from .services import wms_key_mark_used


class WmsPrincipal:
    """Fulfillmen's warehouse system, through one of its keys. Never a Django user, never an affiliate."""

    is_authenticated = True
    is_staff = False

    def __init__(self, wms_key: WmsKey):
        self.wms_key = wms_key

    def __str__(self):
        return f"WMS {self.wms_key.name} (key {self.wms_key.prefix})"


class WmsKeyAuthentication(authentication.BaseAuthentication):
    """Bearer `fwms_…` keys only; any other key is left to the next authenticator (an affiliate's key: 403)."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        scheme, _sep, key = header.partition(" ")
        key = key.strip()
        if scheme != self.keyword or not key.startswith(f"{WMS_KEY_PREFIX}_"):
            return None
        guessing = KeyGuessing(request)
        guessing.refuse_if_over()
        try:
            return self._principal(key)
        except exceptions.AuthenticationFailed as failure:
            guessing.count(prefix=getattr(failure, "prefix", None), reason=failure.get_codes())
            raise

    def _principal(self, key: str):
        prefix = key_prefix(key, WMS_KEY_PREFIX)
        wms_key = WmsKey.objects.filter(prefix=prefix).first() if prefix else None
        if wms_key is None or not hashes_match(wms_key.key_hash, key):
            raise _failed("Unknown WMS key.", "unknown_key", prefix)
        if wms_key.revoked_at is not None:
            raise _failed("This WMS key has been revoked.", "revoked_key", prefix)
        wms_key_mark_used(wms_key=wms_key, at=timezone.now())
        return WmsPrincipal(wms_key), wms_key

    def authenticate_header(self, request):
        return f'{self.keyword} realm="fulfillmen-wms"'


class EngagementRequest(serializers.Serializer):
    partner = serializers.UUIDField(help_text="The drop-shipping partner's public id (admin: Sharing > Affiliates).")
    client = serializers.UUIDField(help_text="The client's public id.")
    order_reference = serializers.CharField(max_length=ORDER_REFERENCE_MAX)
    started_at = InstantField(help_text="When the order was routed to the partner (ISO 8601).")
    ended_at = InstantField(required=False, allow_null=True, help_text="When the order ended (delivered, cancelled).")


class EngagementView(APIView):
    authentication_classes = [WmsKeyAuthentication, ApiKeyAuthentication]
    throttle_classes = []

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if isinstance(request.user, AffiliatePrincipal):
            raise exceptions.PermissionDenied("An affiliate's API key cannot record engagements.", code="not_a_wms_key")
        if not isinstance(request.user, WmsPrincipal):
            raise exceptions.NotAuthenticated("Send a WMS key: 'Authorization: Bearer fwms_…'.")

    @extend_schema(exclude=True)
    def post(self, request):
        params = EngagementRequest(data=request.data)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        partner = Affiliate.objects.filter(public_id=data["partner"]).first()
        client = Client.objects.filter(public_id=data["client"]).first()
        missing = {**({"partner": ["No affiliate has this id."]} if partner is None else {}),
                   **({"client": ["No client has this id."]} if client is None else {})}
        if missing:
            raise exceptions.ValidationError(missing)
        try:
            with transaction.atomic():
                engagement, outcome = engagement_record(
                    affiliate=partner, client=client, order_reference=data["order_reference"],
                    started_at=data["started_at"], ended_at=data.get("ended_at"),
                    source=PartnerEngagement.Source.API, recorded_by_key=request.user.wms_key)
        except DjangoValidationError as exc:
            raise exceptions.ValidationError({"non_field_errors": exc.messages}) from None
        instant = serializers.DateTimeField()  # one form for every answer, whichever offset the request used
        return Response({"id": str(engagement.public_id), "outcome": outcome,
                         "started_at": instant.to_representation(engagement.started_at),
                         "ended_at": instant.to_representation(engagement.ended_at) if engagement.ended_at else None},
                        status=status.HTTP_201_CREATED if outcome == Outcome.CREATED else status.HTTP_200_OK)
