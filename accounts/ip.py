"""The client's IP address as the request shows it — the one address every component uses: IP observations, consent
evidence, the per-address limits and the log-in lock-out (django-axes calls `request_ip` as AXES_CLIENT_IP_CALLABLE).

X-Forwarded-For is believed only when proxies are configured; otherwise anyone could write any address into it, so
only the socket's address counts. Each proxy *appends* the address it was connected from, so only the right-hand
end of the header was written by our proxies; whatever a client put on its left is ignored:

- TRUSTED_PROXY_COUNT=N (N proxies in front of the app): the N-th address from the right is the client's.
- TRUSTED_PROXIES (addresses or CIDR networks): if the socket's address is one of them, the header is read from the
  right, skipping addresses of trusted proxies; the first other address is the client's. The list wins over a count.

A header too short for the configuration, or with an unreadable entry where a proxy should have written one, is not
believed: the last address a trusted hop vouches for is used instead, never a value the client chose.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _address(value: str | None) -> Address | None:
    """One hop as a proxy writes it: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:443`."""
    text = (value or "").strip()
    if text.startswith("["):
        text = text[1:text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    return getattr(address, "ipv4_mapped", None) or address


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    try:
        return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)
    except ValueError as exc:
        raise ImproperlyConfigured(f"TRUSTED_PROXIES must list IP addresses or CIDR networks: {exc}") from exc


def _hops(request) -> list[Address | None]:
    """X-Forwarded-For, right-most (nearest) hop first; None where an entry is not an address."""
    header = request.META.get("HTTP_X_FORWARDED_FOR", "")
    return [_address(part) for part in reversed(header.split(","))] if header.strip() else []


def _client_by_count(hops: list[Address | None], count: int, remote: Address) -> Address:
    vouched = remote
    for hop in hops[:count]:
        if hop is None:
            return vouched
        vouched = hop
    return vouched


def _client_by_list(hops: list[Address | None], trusted: tuple, remote: Address) -> Address:
    def is_trusted(address: Address) -> bool:
        return any(address in network for network in trusted)

    vouched = remote
    if not is_trusted(remote):
        return remote
    for hop in hops:
        if hop is None:
            return vouched
        vouched = hop
        if not is_trusted(hop):
            return hop
    return vouched


def request_ip(request) -> str | None:
    remote = _address(request.META.get("REMOTE_ADDR"))
    trusted, count = settings.IP_TRUSTED_PROXIES, settings.IP_PROXY_COUNT
    if remote is None or not (trusted or count):
        return str(remote) if remote else None
    hops = _hops(request)
    if trusted:
        return str(_client_by_list(hops, _networks(tuple(trusted)), remote))
    return str(_client_by_count(hops, count, remote))
