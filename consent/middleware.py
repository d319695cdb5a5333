"""Global Privacy Control (11 CCR 7025): a browser's `Sec-GPC: 1` is a valid opt-out of sale and sharing.

For a logged-in client it is honoured before the view runs, so the very page that carries the signal already
shows the withdrawn state. No extra question is asked. It is checked once per session: afterwards the signal
costs no query at all (the service itself also honours it only once per purpose, so a client who later gives
consent again in the portal keeps that choice).
"""

import logging

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.ip import request_ip
from accounts.middleware import PROBE_PATHS
from accounts.selectors import client_of_user

from .services import consent_gpc_honour

logger = logging.getLogger(__name__)

SESSION_KEY = "_gpc_checked_for"


def request_has_gpc(request) -> bool:
    """Whether this request carries the Global Privacy Control signal."""
    return request.headers.get("Sec-GPC", "").strip() == "1"


def honour_gpc_signal(request) -> None:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or user.is_staff:
        return  # an anonymous browser has no ledger to write to; staff are not data subjects here
    if request.session.get(SESSION_KEY) == user.pk:
        return
    client = client_of_user(user=user)
    if client is not None:
        try:
            with transaction.atomic():
                consent_gpc_honour(client=client, ip_address=request_ip(request),
                                   user_agent=request.headers.get("User-Agent", ""))
        except ValidationError:
            # A concurrent write for the same client: leave the session unmarked so the next request tries again.
            logger.warning("Could not honour a GPC signal for client %s yet; retrying on the next request.",
                           client.public_id, exc_info=True)
            return
    request.session[SESSION_KEY] = user.pk


class GlobalPrivacyControlMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path not in PROBE_PATHS and request_has_gpc(request):  # a probe does nothing else
            honour_gpc_signal(request)
        return self.get_response(request)
