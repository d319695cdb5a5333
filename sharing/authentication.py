"""`Authorization: Bearer <key>` for affiliates. Revocation and expiry are read on every request."""

from django.utils import timezone
from rest_framework import authentication, exceptions

from .keys import hashes_match, key_prefix
from .models import ApiKey
from .services import api_key_mark_used


class AffiliatePrincipal:
    """Who is calling: an affiliate, through one of its keys. Never a Django user."""

    is_authenticated = True
    is_staff = False

    def __init__(self, api_key: ApiKey):
        self.api_key = api_key
        self.affiliate = api_key.affiliate

    def __str__(self):
        return f"affiliate {self.affiliate.name} (key {self.api_key.prefix})"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, key = header.partition(" ")
        key = key.strip()
        if scheme != self.keyword or not key:
            raise exceptions.AuthenticationFailed("Use the header 'Authorization: Bearer <your API key>'.", code="bad_authorization_header")
        prefix = key_prefix(key)
        api_key = ApiKey.objects.select_related("affiliate").filter(prefix=prefix).first() if prefix else None
        if api_key is None or not hashes_match(api_key.key_hash, key):
            raise exceptions.AuthenticationFailed("Unknown API key.", code="unknown_key")
        now = timezone.now()
        if api_key.revoked_at is not None:
            raise exceptions.AuthenticationFailed("This API key has been revoked.", code="revoked_key")
        if api_key.expires_at is not None and api_key.expires_at <= now:
            raise exceptions.AuthenticationFailed("This API key has expired.", code="expired_key")
        if not api_key.affiliate.active:
            raise exceptions.AuthenticationFailed("This affiliate is no longer active.", code="inactive_affiliate")
        api_key_mark_used(api_key=api_key, at=now)
        return AffiliatePrincipal(api_key), api_key

    def authenticate_header(self, request):
        return f'{self.keyword} realm="fulfillmen-api"'
