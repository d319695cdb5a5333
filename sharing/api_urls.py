from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import api, wms_api

v1 = [
    path("clients/", api.ClientListView.as_view(), name="clients"),
    path("clients/<str:public_id>/", api.ClientDetailView.as_view(), name="client"),
    path("withdrawals/", api.WithdrawalListView.as_view(), name="withdrawals"),
    path("withdrawals/ack", api.WithdrawalAckView.as_view(), name="withdrawals-ack"),
    path("agreement/", api.AgreementView.as_view(), name="agreement"),
]

# Fulfillmen's own warehouse system (a WMS key, never an affiliate's): /api/internal/v1/.
internal_v1 = [
    path("engagements/", wms_api.EngagementView.as_view(), name="engagements"),
]

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="sharing/api_docs.html"),
         name="api-docs"),
]
