"""The body of "Who received your data", kept rendered (accounts/page_fragments.py) while the data it is rendered
from is the same. The version is that data itself — the page's records as the client reads them, what each
recipient was told, the processors' summary, the announced business transfers, the page's links — read by the
page's usual queries, so the body can only ever show what they just returned; what is saved is the rendering.

Those queries never return a record withheld under a non-disclosure order, so such a record is in no version and
no kept body: writing one changes nothing a client could notice (neither the page nor how fast it comes), and its
release, which makes the queries return it, shows it on the next request. Erasure forgets the kept body
(`received_fragments_forget`, called by rights' anonymisation)."""

import functools
import hashlib

from django.conf import settings
from django.db import transaction
from django.template.loader import get_template, render_to_string
from django.utils.safestring import SafeString

from accounts.models import Client
from accounts.page_fragments import fragment_get_or_render, fragments_forget

FRAGMENT = "sharing-received"
BODY_TEMPLATE = "sharing/includes/received_body.html"
_TEMPLATES = (BODY_TEMPLATE, "includes/keyset_nav.html")


@functools.cache
def _templates_digest() -> str:
    sources = [get_template(name).template.source for name in _TEMPLATES]
    return hashlib.sha256("\0".join(sources).encode()).hexdigest()


def _purpose(purpose) -> tuple:
    return (purpose.pk, purpose.code, purpose.title_en, purpose.title_zh_hans, purpose.legal_basis)


def _version(context: dict) -> tuple:
    # Field by field, not dataclasses.astuple: that deep-copies every row (16 ms of a profiled request).
    groups = tuple((g.recipient_name, g.recipient_country, _purpose(g.purpose), g.transfer_mechanism, g.affiliate_id,
                    tuple((d.iso, d.shown, d.fields_shown) for d in g.disclosures),
                    tuple((t.text, t.iso, t.acknowledged) for t in g.told))
                   for g in context["groups"])
    processors = tuple((u.name, u.country_name, _purpose(u.purpose), u.fields_shown, u.times, u.last)
                       for u in context["processors"])
    page = context["page"]
    return (groups, processors, tuple(str(a) for a in context["announcements"]), context["storage_location"],
            page.newer, page.older, settings.TIME_ZONE, _templates_digest())


def received_body(*, client: Client, context: dict) -> SafeString:
    return fragment_get_or_render(name=FRAGMENT, owner_id=client.pk, version=_version(context),
                                  render=lambda: render_to_string(BODY_TEMPLATE, context))


def received_fragments_forget(*, client: Client) -> None:
    """Erasure: now, and again once the erasure commits (a request served in between could have kept one)."""
    fragments_forget(name=FRAGMENT, owner_id=client.pk)
    transaction.on_commit(lambda: fragments_forget(name=FRAGMENT, owner_id=client.pk))
