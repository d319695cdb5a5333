"""The product's URLs plus two bench-only routes: the naive affiliate API (baseline of the affiliate sync) and a
trivial view (the ceiling of the portal-pages benchmark: the same server and middleware, no work)."""

from django.http import HttpResponse
from django.urls import path

from fulfillmen.urls import urlpatterns as product_urlpatterns

from .naive_api import NaiveClientViewSet


def trivial(request):
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [  # the naive API under /api/ like the real one (the client-IP middleware skips /api/)
    path("api/bench-naive/clients/", NaiveClientViewSet.as_view({"get": "list"}), name="bench-naive-clients"),
    path("bench/trivial/", trivial, name="bench-trivial"),
    *product_urlpatterns,
]
