"""The list of "Your choices", kept rendered (accounts/page_fragments.py) while nothing it is rendered from has
changed. One statement reads the version of all of it: every column of every purpose, the client's states and
newest ledger event, which restricted purposes are offered to them (`consent.selectors.choices_version_sql`), every
recipient link and the affiliates they name (the registered recipient lookup's version: sharing); the client's
jurisdiction, the storage location, the jurisdictions that need a transfer consent, the time zone and the templates'
source complete it, and the language is part of the key. The version is read before the page's two queries run,
and only when it differs do they run and the list render, so a change shows on the very next request (tested,
one kind at a time); without a version (not PostgreSQL, or a hook without one) the list is rendered every time.
The forms' CSRF token is put in per response. Erasure forgets it with the history
(`consent.history_page.history_fragments_forget`)."""

from collections.abc import Callable

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString

from accounts.models import Client
from accounts.page_fragments import CSRF_MARK, csrf_put, fragment_get_or_render, templates_digest, version_read

from .recipient_hooks import recipients_version_sql
from .selectors import choices_version_sql

FRAGMENT = "consent-choices"
LIST_TEMPLATE = "consent/includes/choice_list.html"
_TEMPLATES = (LIST_TEMPLATE, "consent/includes/consent_state.html", "consent/includes/recipients.html")


def choices_version(*, client: Client, storage_location: str) -> tuple | None:
    row = version_read(choices_version_sql(client.pk), recipients_version_sql())
    if row is None:
        return None
    return (row, client.jurisdiction, storage_location, tuple(settings.TRANSFER_CONSENT_JURISDICTIONS),
            timezone.get_current_timezone_name(), templates_digest(*_TEMPLATES))


def choice_list(*, request, client: Client, choices: Callable[[], list], storage_location: str) -> SafeString:
    """The list as `choices()` (the page's two queries) renders it; kept while `choices_version` stays the same."""
    version = choices_version(client=client, storage_location=storage_location)

    def render():
        return render_to_string(LIST_TEMPLATE, {"choices": choices(), "storage_location": storage_location,
                                                "csrf_token": CSRF_MARK})

    html = fragment_get_or_render(name=FRAGMENT, owner_id=client.pk, version=version, render=render)
    return csrf_put(html, request)
