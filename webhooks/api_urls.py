"""/api/v1/webhooks/…, in the affiliate API's `api` namespace (fulfillmen/urls.py adds them to sharing's v1)."""

from django.urls import path

from . import api

v1 = [
    path("webhooks/endpoints/", api.EndpointListView.as_view(), name="webhook-endpoints"),
    path("webhooks/endpoints/<str:endpoint_id>/", api.EndpointDetailView.as_view(), name="webhook-endpoint"),
    path("webhooks/endpoints/<str:endpoint_id>/rotate/", api.EndpointRotateView.as_view(), name="webhook-endpoint-rotate"),
    path("webhooks/endpoints/<str:endpoint_id>/test/", api.EndpointTestView.as_view(), name="webhook-endpoint-test"),
    path("webhooks/event-types/", api.EventTypeListView.as_view(), name="webhook-event-types"),
]
