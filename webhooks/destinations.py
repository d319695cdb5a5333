"""Where a webhook may go: https (http only under DEBUG or WEBHOOK_ALLOW_PRIVATE_NETWORKS, for local development
and tests), and never to a private, loopback, link-local or otherwise non-public address (SSRF).

Checked when an endpoint is saved and again at every send, after DNS resolution; the connection is then made to the
address that was checked (the host name still goes in Host and TLS SNI, and the certificate must match it), so a
name that resolves elsewhere a moment later (DNS rebinding) cannot redirect it. Redirects are never followed.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _


class DestinationRefused(Exception):
    """The URL may not receive webhooks; the message says why, for the admin and the API."""


@dataclass(frozen=True)
class Destination:
    scheme: str
    host: str          # as written in the URL (a name or an address)
    port: int
    target: str        # path and query
    address: str       # the checked address to connect to


def _private_allowed() -> bool:
    return bool(getattr(settings, "WEBHOOK_ALLOW_PRIVATE_NETWORKS", False))


# IPv6 ranges that carry an IPv4 address or are deprecated, refused whatever `is_global` says: IPv4-compatible
# (::/96), SIIT (::ffff:0:0:0/96) and site-local (fec0::/10).
_REFUSED_V6 = [ipaddress.ip_network(n) for n in ("::/96", "::ffff:0:0:0/96", "fec0::/10")]
# NAT64 prefixes: the IPv4 address in the low 32 bits is where a NAT64 gateway would connect (169.254.169.254 too).
_NAT64 = [ipaddress.ip_network(n) for n in ("64:ff9b::/96", "64:ff9b:1::/48")]


def _embedded_v4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address leads to: mapped, 6to4, Teredo (server and client), NAT64."""
    found = [a for a in (ip.ipv4_mapped, ip.sixtofour) if a is not None]
    if ip.teredo is not None:
        found += list(ip.teredo)
    if any(ip in net for net in _NAT64):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return found


def address_is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in net for net in _REFUSED_V6):
            return False
        embedded = _embedded_v4(ip)
        if embedded:
            return all(v4.is_global and not v4.is_multicast for v4 in embedded)
    return ip.is_global and not ip.is_multicast


def url_parse(url: str) -> tuple[str, str, int, str]:
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    allowed = ("https", "http") if (settings.DEBUG or _private_allowed()) else ("https",)
    if scheme not in allowed:
        raise DestinationRefused(_("The URL must start with https://."))
    if parts.username is not None or parts.password is not None:
        raise DestinationRefused(_("The URL must not carry a user name or password."))
    if not parts.hostname:
        raise DestinationRefused(_("The URL has no host."))
    if parts.fragment:
        raise DestinationRefused(_("The URL must not have a #fragment."))
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise DestinationRefused(_("The URL's port is not a number from 1 to 65535.")) from None
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, parts.hostname, port, target


def destination_resolve(url: str) -> Destination:
    """Parse, resolve and check; the first acceptable address is the one to connect to. Every address the name
    resolves to must be public: a name with one private address among public ones is refused."""
    scheme, host, port, target = url_parse(url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise DestinationRefused(_("The host %(host)s does not resolve.") % {"host": host}) from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not _private_allowed():
        refused = [a for a in addresses if not address_is_public(a)]
        if refused:
            raise DestinationRefused(
                _("The host %(host)s resolves to an address that is not public (%(address)s): webhooks only go to "
                  "public internet addresses.") % {"host": host, "address": refused[0]})
    if not addresses:
        raise DestinationRefused(_("The host %(host)s does not resolve.") % {"host": host})
    return Destination(scheme=scheme, host=host, port=port, target=target, address=addresses[0])
