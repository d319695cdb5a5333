"""The affiliate REST API (/api/v1/). Views check parameters and call selectors and services; nothing else.

Every view derives from AffiliateAPIView, which authenticates by API key, throttles per key, and hands the
view the calling affiliate: there is no queryset a view could forget to scope.
"""

import json
import uuid

from django.db import transaction
from django.http import Http404, HttpResponse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from accounts.jurisdictions import storage_country
from accounts.keyset import cursor_open, cursor_seal
from consent.models import DataCategory

from .authentication import AffiliatePrincipal, ApiKeyAuthentication
from .models import Affiliate, WithdrawalNotice
from .pages import client_page_share
from .selectors import agreement_in_force, agreements_of, withdrawals_for_affiliate
from .services import withdrawals_acknowledge

CURSOR_USE = "sharing.api.cursor"
# A full sync in pages of 2,000 cost ~30 % less than in pages of 500 (issue #9), and in pages of 5,000 another ~10 %
# (issue #20, bench/README.md): each request has a fixed cost (authentication, throttling, the agreement, planning the
# statement, the commit). A page's consent states stay share-locked until its transaction commits: a withdrawal meanwhile
# waits, up to the statement's ~70 ms at 5,000 on the benchmark machine.
MAX_PAGE_SIZE = 5000
MAX_WITHDRAWAL_PAGE_SIZE = 2000  # unchanged by issue #20: the withdrawal feed was not measured in pages of 5,000
DEFAULT_PAGE_SIZE = 100


class ApiKeyThrottle(SimpleRateThrottle):
    """Requests per API key; 429 with Retry-After beyond the rate set in settings (API_RATE)."""

    scope = "affiliate"

    def get_cache_key(self, request, view):
        principal = request.user
        if not isinstance(principal, AffiliatePrincipal):
            return None
        return self.cache_format % {"scope": self.scope, "ident": principal.api_key.pk}


class AffiliateAPIView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    throttle_classes = [ApiKeyThrottle]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not isinstance(request.user, AffiliatePrincipal):
            raise exceptions.NotAuthenticated("Send your API key: 'Authorization: Bearer <key>'.")
        self.affiliate = request.user.affiliate
        self.api_key = request.user.api_key

    def agreement_for(self, purpose_code: str):
        agreement = agreement_in_force(affiliate=self.affiliate, purpose_code=purpose_code)
        if agreement is None:
            raise exceptions.PermissionDenied(
                f"Your agreement does not cover the purpose '{purpose_code}' now.", code="purpose_not_agreed")
        return agreement

    def transfer_check(self):
        """No client's data goes abroad to a recipient without a transfer mechanism (PIPL Art. 38; GDPR Art. 44):
        refused before anything is read, so nothing is sent and nothing recorded. (The withdrawal feed stays open:
        it only tells the recipient what to delete.)"""
        if self.affiliate.abroad and self.affiliate.transfer_mechanism == Affiliate.TransferMechanism.NONE:
            raise exceptions.PermissionDenied(
                f"No client data may be transferred to your country ({self.affiliate.country}) from where it is stored "
                f"({storage_country()}): no transfer mechanism is recorded for you. Ask Fulfillmen's privacy team.",
                code="transfer_not_permitted")


class InstantField(serializers.DateTimeField):
    """A DateTimeField that answers 400, not 500, when a time without offset would be before year 1 in UTC
    (DRF lets the OverflowError of making it aware escape, e.g. 0001-01-01T00:00 in Asia/Shanghai)."""

    def enforce_timezone(self, value):
        try:
            return super().enforce_timezone(value)
        except OverflowError:
            self.fail("overflow")


def _cursor_dump(**values) -> str:
    """Sealed, not only signed (accounts.keyset.cursor_seal): the id in it counts every client (every notice) of
    every affiliate, which an affiliate decoding its cursors must not learn."""
    return cursor_seal(json.dumps(values, separators=(",", ":")), use=CURSOR_USE)


def _cursor_load(cursor: str, **expected) -> dict:
    try:
        values = json.loads(cursor_open(cursor, use=CURSOR_USE))
        if not isinstance(values, dict):
            raise ValueError("not a cursor's values")
    except ValueError:  # json.JSONDecodeError is one
        raise exceptions.ValidationError({"cursor": ["This cursor is not one the API gave out."]}) from None
    if any(values.get(k) != v for k, v in expected.items()):
        raise exceptions.ValidationError({"cursor": ["This cursor belongs to a different query."]})
    return values


class ClientListParams(serializers.Serializer):
    purpose = serializers.SlugField(help_text="The purpose code, e.g. promotional-sharing.")
    updated_since = InstantField(required=False, help_text="Only clients changed since (ISO 8601).")
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=MAX_PAGE_SIZE, default=DEFAULT_PAGE_SIZE)
    cursor = serializers.CharField(required=False, max_length=1000, help_text="`next_cursor` of the previous page.")


class ClientItem(serializers.Serializer):
    id = serializers.UUIDField()
    purpose = serializers.CharField()
    name = serializers.CharField(required=False)
    email = serializers.EmailField(required=False)
    phone = serializers.CharField(required=False, allow_null=True)
    ip_addresses = serializers.ListField(child=serializers.IPAddressField(), required=False)
    shipping_addresses = serializers.ListField(child=serializers.DictField(), required=False)


class ClientPageSerializer(serializers.Serializer):
    results = ClientItem(many=True)
    next_cursor = serializers.CharField(allow_null=True)


def _parse(serializer_class, data):
    params = serializer_class(data=data)
    params.is_valid(raise_exception=True)
    return params.validated_data


def _share(view: AffiliateAPIView, agreement, **page):
    """One page of clients, each recorded as shared, in the transaction the response is built in."""
    return client_page_share(affiliate=view.affiliate, agreement=agreement, api_key=view.api_key,
                             request_id=view.request_id, at=timezone.now(), **page)


class ClientListView(AffiliateAPIView):
    @extend_schema(parameters=[ClientListParams], responses=ClientPageSerializer,
                   summary="Clients whose data you may receive for a purpose, one page at a time")
    def get(self, request):
        params = _parse(ClientListParams, request.query_params)
        agreement = self.agreement_for(params["purpose"])
        self.transfer_check()
        since = params.get("updated_since")
        # bound to the affiliate too: another's cursor is a 400, never a position in this one's scope
        expected = {"p": agreement.purpose.code, "s": since.isoformat() if since else None, "k": self.affiliate.pk}
        after = _cursor_load(params["cursor"], **expected)["a"] if params.get("cursor") else 0
        self.request_id = uuid.uuid4()
        with transaction.atomic():
            page = _share(self, agreement, after_id=after, updated_since=since, limit=params["page_size"])
        next_cursor = _cursor_dump(a=page.last_id, **expected) if page.has_more else None
        # The items arrive as JSON from the database (sharing/pages.py); only the envelope is added here.
        body = f'{{"results":{page.items_json},"next_cursor":{json.dumps(next_cursor)}}}'
        return HttpResponse(body, content_type="application/json", headers={"X-Request-Id": str(self.request_id)})


class PurposeParam(serializers.Serializer):
    purpose = serializers.SlugField()


class ClientDetailView(AffiliateAPIView):
    @extend_schema(parameters=[PurposeParam], responses=ClientItem, summary="One client, if you may receive it")
    def get(self, request, public_id):
        params = _parse(PurposeParam, request.query_params)
        try:
            public_id = uuid.UUID(public_id)
        except ValueError:
            raise Http404 from None
        agreement = self.agreement_for(params["purpose"])
        self.transfer_check()
        self.request_id = uuid.uuid4()
        with transaction.atomic():
            page = _share(self, agreement, public_id=public_id, limit=1)
        if not page.client_ids:
            raise Http404  # never a hint whether such a client exists
        return Response(page.items[0], headers={"X-Request-Id": str(self.request_id)})


class WithdrawalParams(serializers.Serializer):
    purpose = serializers.SlugField()
    since = InstantField(help_text="ISO 8601; withdrawals at or after this time.")
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=MAX_WITHDRAWAL_PAGE_SIZE,
                                         default=DEFAULT_PAGE_SIZE)
    cursor = serializers.CharField(required=False, max_length=1000)


class WithdrawalItem(serializers.Serializer):
    id = serializers.UUIDField(help_text="Acknowledge with this id once you deleted the client's data (for "
                                         "`rectified`: once you fetched the current value or deleted your copy).")
    client_id = serializers.UUIDField()
    purpose = serializers.CharField()
    reason = serializers.ChoiceField(choices=WithdrawalNotice.Reason.choices)
    fields = serializers.ListField(
        child=serializers.ChoiceField(choices=DataCategory.choices),
        help_text="For `rectified`: which of the fields you received were corrected (fetch the client again, e.g. "
                  "GET /api/v1/clients/{id}/, or delete your copy). Empty for the other reasons.")
    occurred_at = serializers.DateTimeField()
    acknowledged_at = serializers.DateTimeField(allow_null=True)


class WithdrawalPageSerializer(serializers.Serializer):
    results = WithdrawalItem(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class WithdrawalListView(AffiliateAPIView):
    @extend_schema(parameters=[WithdrawalParams], responses=WithdrawalPageSerializer,
                   summary="Clients you must delete (consent withdrawn, GPC, erasure, agreement ended) or refresh "
                           "(data corrected)")
    def get(self, request):
        params = _parse(WithdrawalParams, request.query_params)
        agreement = self.agreement_for(params["purpose"])
        expected = {"p": agreement.purpose.code, "s": params["since"].isoformat(), "k": self.affiliate.pk}
        after = _cursor_load(params["cursor"], **expected)["a"] if params.get("cursor") else 0
        notices = withdrawals_for_affiliate(affiliate=self.affiliate, purpose=agreement.purpose, since=params["since"],
                                            after_id=after, limit=params["page_size"])
        has_more = len(notices) > params["page_size"]
        notices = notices[: params["page_size"]]
        results = [{"id": str(n.public_id), "client_id": str(n.client.public_id), "purpose": n.purpose.code,
                    "reason": n.reason, "fields": n.fields, "occurred_at": n.occurred_at,
                    "acknowledged_at": n.acknowledged_at}
                   for n in notices]
        next_cursor = _cursor_dump(a=notices[-1].pk, **expected) if has_more else None
        return Response(WithdrawalPageSerializer({"results": results, "next_cursor": next_cursor}).data)


class AckRequest(serializers.Serializer):
    ids = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=1000)
    deleted_at = InstantField(required=False, help_text="When you deleted the data; default now.")


class AckResponse(serializers.Serializer):
    acknowledged = serializers.IntegerField()


class WithdrawalAckView(AffiliateAPIView):
    @extend_schema(request=AckRequest, responses=AckResponse, summary="Confirm you deleted the clients' data")
    def post(self, request):
        data = _parse(AckRequest, request.data)
        at = data.get("deleted_at") or timezone.now()
        if at > timezone.now():
            raise exceptions.ValidationError({"deleted_at": ["Cannot be in the future."]})
        count = withdrawals_acknowledge(affiliate=self.affiliate, notice_ids=data["ids"], at=at)
        return Response({"acknowledged": count})


class AgreementItem(serializers.Serializer):
    purpose = serializers.CharField()
    fields = serializers.ListField(child=serializers.CharField())
    valid_from = serializers.DateTimeField()
    valid_until = serializers.DateTimeField(allow_null=True)
    in_force = serializers.BooleanField()


class AgreementResponse(serializers.Serializer):
    affiliate = serializers.CharField()
    agreements = AgreementItem(many=True)


class AgreementView(AffiliateAPIView):
    @extend_schema(responses=AgreementResponse, summary="Your purposes, fields and their validity")
    def get(self, request):
        now = timezone.now()
        items = [{"purpose": a.purpose.code, "fields": a.fields, "valid_from": a.valid_from, "valid_until": a.valid_until,
                  "in_force": a.valid_from <= now and (a.valid_until is None or a.valid_until > now)}
                 for a in agreements_of(affiliate=self.affiliate)]
        return Response(AgreementResponse({"affiliate": self.affiliate.name, "agreements": items}).data)
