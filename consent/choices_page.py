"""The list of "Your choices", kept rendered (accounts/page_fragments.py) while the data it is rendered from is
the same: the version is that data itself — every purpose's stored fields, the client's state of each (granted,
when, through which channel), each named recipient as the client is told of it, the client's jurisdiction — read
by the page's usual two queries, so the list can never show anything but what those queries just returned. What
is saved is the rendering (half of the page's time: bench/portal_profile.py). The forms' CSRF token is put in per
response. Erasure forgets it with the history (`consent.history_page.history_fragments_forget`)."""

import functools
import hashlib
from dataclasses import astuple

from django.conf import settings
from django.middleware.csrf import get_token
from django.template.loader import get_template, render_to_string
from django.utils.html import escape
from django.utils.safestring import SafeString

from accounts.models import Client
from accounts.page_fragments import fragment_get_or_render, rendered

FRAGMENT = "consent-choices"
LIST_TEMPLATE = "consent/includes/choice_list.html"
_TEMPLATES = (LIST_TEMPLATE, "consent/includes/consent_state.html", "consent/includes/recipients.html")
CSRF = "\ue000csrf\ue000"  # a private-use character: never in a translation, a title or a URL


@functools.cache
def _templates_digest() -> str:
    sources = [get_template(name).template.source for name in _TEMPLATES]
    return hashlib.sha256("\0".join(sources).encode()).hexdigest()


def _described(choice) -> tuple:
    """Everything of one choice its part of the list is rendered from."""
    purpose = choice.purpose
    return (tuple((f.attname, getattr(purpose, f.attname)) for f in purpose._meta.concrete_fields),
            astuple(choice.state) if choice.state else None, astuple(choice.recipient) if choice.recipient else None,
            choice.jurisdiction, tuple(_described(child) for child in choice.recipients))


def choice_list(*, request, client: Client, choices: list, storage_location: str) -> SafeString:
    version = (tuple(_described(c) for c in choices), storage_location, tuple(settings.TRANSFER_CONSENT_JURISDICTIONS),
               settings.TIME_ZONE, _templates_digest())
    html = fragment_get_or_render(name=FRAGMENT, owner_id=client.pk, version=version, render=lambda: render_to_string(
        LIST_TEMPLATE, {"choices": choices, "storage_location": storage_location, "csrf_token": CSRF}))
    return rendered(html.replace(CSRF, escape(get_token(request))))
