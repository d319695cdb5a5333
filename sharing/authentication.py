"""`Authorization: Bearer <key>` for affiliates. Revocation and expiry are read on every request.

Guessing keys is throttled: each rejected key counts against the caller's IP address, and past
API_KEY_FAILURE_LIMIT rejections in API_KEY_FAILURE_WINDOW seconds every request from that address is refused with
429 and Retry-After — a right key included, so the budget cannot be spent finding one. Each rejection is logged with
the key's public prefix (never the key).
"""

import logging
import time

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from rest_framework import authentication, exceptions

from accounts.ip import request_ip

from .keys import hashes_match, key_prefix
from .models import Affiliate, ApiKey
from .services import api_key_mark_used

logger = logging.getLogger(__name__)


def _failed(message: str, code: str, prefix: str | None) -> exceptions.AuthenticationFailed:
    failure = exceptions.AuthenticationFailed(message, code=code)
    failure.prefix = prefix
    return failure


class AffiliatePrincipal:
    """Who is calling: an affiliate, through one of its keys. Never a Django user."""

    is_authenticated = True
    is_staff = False

    def __init__(self, api_key: ApiKey):
        self.api_key = api_key
        self.affiliate = api_key.affiliate

    def __str__(self):
        return f"affiliate {self.affiliate.name} (key {self.api_key.prefix})"


class KeyGuessing:
    """Rejected keys per caller address, in a fixed window that starts with the first rejection."""

    def __init__(self, request):
        self.address = request_ip(request) or "unknown"
        self.count_key, self.until_key = f"api-key-failures:{self.address}", f"api-key-failures-until:{self.address}"

    def refuse_if_over(self) -> None:
        if (cache.get(self.count_key) or 0) >= settings.API_KEY_FAILURE_LIMIT:
            raise exceptions.Throttled(wait=max(1, int((cache.get(self.until_key) or time.time()) - time.time())),
                                       detail="Too many rejected API keys from your address; try again later.")

    def count(self, *, prefix: str | None, reason: str) -> None:
        window = settings.API_KEY_FAILURE_WINDOW
        cache.add(self.until_key, time.time() + window, window)
        cache.add(self.count_key, 0, window)
        failures = cache.incr(self.count_key)
        logger.warning("API key rejected (%s, prefix %s): %d of %d allowed in %d s from this address.",
                       reason, prefix or "-", failures, settings.API_KEY_FAILURE_LIMIT, window)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        guessing = KeyGuessing(request)
        guessing.refuse_if_over()
        try:
            return self._principal(header)
        except exceptions.AuthenticationFailed as failure:
            guessing.count(prefix=getattr(failure, "prefix", None), reason=failure.get_codes())
            raise

    def _principal(self, header: str):
        scheme, _, key = header.partition(" ")
        key = key.strip()
        if scheme != self.keyword or not key:
            raise exceptions.AuthenticationFailed("Use the header 'Authorization: Bearer <your API key>'.",
                                                  code="bad_authorization_header")
        prefix = key_prefix(key)
        api_key = ApiKey.objects.select_related("affiliate").filter(prefix=prefix).first() if prefix else None
        if api_key is None or not hashes_match(api_key.key_hash, key):
            raise _failed("Unknown API key.", "unknown_key", prefix)
        now = timezone.now()
        if api_key.revoked_at is not None:
            raise _failed("This API key has been revoked.", "revoked_key", prefix)
        if api_key.expires_at is not None and api_key.expires_at <= now:
            raise _failed("This API key has expired.", "expired_key", prefix)
        if not api_key.affiliate.active:
            raise _failed("This affiliate is no longer active.", "inactive_affiliate", prefix)
        if api_key.affiliate.kind == Affiliate.Kind.PROCESSOR:  # made before it became one: a processor gets no feed
            raise _failed("A processor receives no client feed.", "processor_key", prefix)
        api_key_mark_used(api_key=api_key, at=now)
        return AffiliatePrincipal(api_key), api_key

    def authenticate_header(self, request):
        return f'{self.keyword} realm="fulfillmen-api"'
