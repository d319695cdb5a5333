"""The baseline of the affiliate sync: the API a Django developer writes first. Bench only, never in the product.

A DRF ModelViewSet with a ModelSerializer, page-number pagination (COUNT + OFFSET per page), the consent checked
per row (the affiliate's per-recipient purpose and, abroad, the separate-consent rule for PIPL clients: the same
clients as the product API) and one SharingRecord.objects.create per row (autocommit: one INSERT and one commit per
client), and the IP addresses fetched per row by a SerializerMethodField. It uses the product's API-key
authentication so that both sides pay the same for it.
"""

import uuid

from django.conf import settings
from django.utils import timezone
from rest_framework import exceptions, serializers, viewsets
from rest_framework.pagination import PageNumberPagination

from accounts.models import Client, IPObservation
from consent.models import ConsentState, Purpose
from sharing.authentication import ApiKeyAuthentication
from sharing.models import RecipientConsent, SharingAgreement, SharingRecord


class NaiveClientSerializer(serializers.ModelSerializer):
    ip_addresses = serializers.SerializerMethodField()

    class Meta:
        model = Client
        fields = ["public_id", "full_name", "email", "ip_addresses"]

    def get_ip_addresses(self, client):
        return list(IPObservation.objects.filter(client=client).order_by("-last_seen").values_list("ip_address", flat=True))


class NaivePagination(PageNumberPagination):
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 5000  # the same maximum as the product API


class NaiveClientViewSet(viewsets.ModelViewSet):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = []
    serializer_class = NaiveClientSerializer
    pagination_class = NaivePagination
    queryset = Client.objects.filter(erased_at__isnull=True).order_by("pk")

    def list(self, request, *args, **kwargs):
        if request.user is None:
            raise exceptions.NotAuthenticated()
        affiliate = request.user.affiliate
        purpose = Purpose.objects.get(code=request.query_params["purpose"])
        agreement = SharingAgreement.objects.filter(affiliate=affiliate, purpose=purpose).first()
        if agreement is None:
            raise exceptions.PermissionDenied()
        consent_purpose = RecipientConsent.objects.get(affiliate=affiliate, purpose=purpose).consent_purpose
        request_id = uuid.uuid4()
        page = self.paginate_queryset(self.get_queryset())
        permitted = []
        for client in page:
            state = ConsentState.objects.filter(client=client, purpose=consent_purpose, granted=True).select_related(
                "last_event").first()
            separate = affiliate.abroad and client.jurisdiction in settings.TRANSFER_CONSENT_JURISDICTIONS
            if state is not None and not (separate and state.last_event.channel == "signup"):
                SharingRecord.objects.create(client=client, affiliate=affiliate, recipient_name=affiliate.name,
                                             recipient_country=affiliate.country, purpose=purpose, fields=agreement.fields,
                                             shared_at=timezone.now(), api_key=request.user.api_key, request_id=request_id,
                                             transfer_mechanism=affiliate.transfer_mechanism if affiliate.abroad else "")
                permitted.append(client)
        return self.get_paginated_response(self.get_serializer(permitted, many=True).data)
