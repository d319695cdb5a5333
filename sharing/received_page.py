"""The body of "Who received your data", kept rendered (accounts/page_fragments.py) while the data it is rendered
from is the same. The version is that data itself — the page's records, the withdrawal notices to their
recipients, the processors' summary, as the page's usual queries just returned them, the announced business
transfers, the page's links — so the body can only ever show what they returned; what is saved is the rendering
and the formatting of each row (dates in the client's language, field labels).

Those queries never return a record withheld under a non-disclosure order, so such a record is in no version and
no kept body: writing one changes nothing a client could notice (neither the page nor how fast it comes), and its
release, which makes the queries return it, shows it on the next request. Erasure forgets the kept body
(`received_fragments_forget`, called by rights' anonymisation)."""

import functools
import hashlib

from django.conf import settings
from django.template.loader import get_template, render_to_string
from django.utils.safestring import SafeString

from accounts.models import Client
from accounts.page_fragments import fragment_get_or_render, fragments_forget_at_erasure

FRAGMENT = "sharing-received"
BODY_TEMPLATE = "sharing/includes/received_body.html"
_TEMPLATES = (BODY_TEMPLATE, "includes/keyset_nav.html")


@functools.cache
def _templates_digest() -> str:
    sources = [get_template(name).template.source for name in _TEMPLATES]
    return hashlib.sha256("\0".join(sources).encode()).hexdigest()


def _plain(row: dict) -> tuple:
    """A row as read, in a form whose repr is the same in every process (sets sorted)."""
    return tuple((k, tuple(sorted(v)) if isinstance(v, set | frozenset) else v) for k, v in row.items())


def _version(context: dict, read: tuple) -> tuple:
    rows, notices, processors = read
    page = context["page"]
    return (tuple(_plain(r) for r in rows), tuple(_plain(n) for n in notices), tuple(_plain(p) for p in processors),
            tuple(str(a) for a in context["announcements"]), context["storage_location"], page.newer, page.older,
            settings.TIME_ZONE, _templates_digest())


def received_body(*, client: Client, context: dict, read: tuple) -> SafeString:
    """`read`: the page's records, the notices to their recipients and the processors' summary, as the queries
    returned them; `context` formats them (lazily: only a rendering reads them)."""
    return fragment_get_or_render(name=FRAGMENT, owner_id=client.pk, version=_version(context, read),
                                  render=lambda: render_to_string(BODY_TEMPLATE, context))


def received_fragments_forget(*, client: Client) -> None:
    """Erasure: now, and again once the erasure commits (a request served in between could have kept one)."""
    fragments_forget_at_erasure(name=FRAGMENT, owner_id=client.pk)
