"""Records the IP address a logged-in client acts from (the policy collects it, so we log it as data)."""

import time

from .ip import request_ip
from .models import IPObservation
from .selectors import client_of_user
from .services import ip_observation_record

# Seeing the same address again within this many seconds only moves nothing worth a write.
REFRESH_SECONDS = 15 * 60
SESSION_KEY = "_ip_observed"


def observe_client_ip(request, *, context: str) -> None:
    """Record the request's IP for the logged-in client, at most once per address per quarter hour."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.is_staff:
        return
    ip = request_ip(request)
    if not ip:
        return
    seen = request.session.get(SESSION_KEY) or {}
    if context != IPObservation.Context.LOGIN and seen.get("ip") == ip and time.time() - seen.get("at", 0) < REFRESH_SECONDS:
        return
    client = client_of_user(user=user)  # read with the user by the login backend: no statement of its own
    if client is None:
        return
    ip_observation_record(client=client, ip_address=ip, context=context)
    request.session[SESSION_KEY] = {"ip": ip, "at": time.time()}


# Load balancers' and container healthchecks' probes (fulfillmen/health.py): no middleware does anything for them.
PROBE_PATHS = ("/healthz", "/readyz")


class ClientIPObservationMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # Not on the public consent log either: its answers are cacheable for everyone, so they must never carry the
        # session cookie that recording an observation would send.
        skipped = request.path in PROBE_PATHS or request.path.startswith(("/admin/", "/static/", "/api/", "/transparency/log/"))
        if not skipped:
            observe_client_ip(request, context=IPObservation.Context.PORTAL)
        return response
