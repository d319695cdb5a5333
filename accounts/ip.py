"""The client's IP address as the request shows it.

X-Forwarded-For is believed only when proxies are configured (TRUSTED_PROXIES or TRUSTED_PROXY_COUNT);
otherwise anyone could write any address into it, so only the socket's address counts.
"""

from django.conf import settings
from ipware import get_client_ip


def request_ip(request) -> str | None:
    trusted, count = settings.IP_TRUSTED_PROXIES, settings.IP_PROXY_COUNT
    if not trusted and not count:
        return get_client_ip(request, request_header_order=["REMOTE_ADDR"])[0]
    ip, _routable = get_client_ip(
        request,
        proxy_order="right-most" if count else "left-most",
        proxy_trusted_ips=trusted or None,
        proxy_count=count or None,
        request_header_order=["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"],
    )
    return ip
