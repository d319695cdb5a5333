"""The body of the first page of "Who received your data", kept rendered (accounts/page_fragments.py) while
nothing it is rendered from has changed.

One statement reads the version of all of it, before any of the page's queries: the rows of the first page as
`keyset_page` reads them (the ORM's own query of `sharing_rows_of_client`, purposes' titles joined: a record
withheld under a non-disclosure order, or a processor's, is in it exactly when it is on the page), every withdrawal
notice about the client, the processors' tallies with their purposes, and what each registered announcer (business
transfers) reads. The storage location, the time zone and the templates' source complete it; the language is part
of the key. Only when it differs do the page's queries run and the body render, so a change shows on the very next
request (tested, one kind at a time); without a version (not PostgreSQL) the body is rendered every time.

A record withheld under a non-disclosure order is in no version: writing one changes nothing a client could notice
(neither the page nor how fast it comes), and its release, which puts it on the page, changes the version on that
day. Older and newer pages are rendered every time, never kept. Erasure forgets the kept body
(`received_fragments_forget`, called by rights' anonymisation)."""

from collections.abc import Callable

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString

from accounts.jurisdictions import storage_location_label
from accounts.keyset import keyset_first_page
from accounts.models import Client
from accounts.page_fragments import (
    VersionPart,
    fragment_get_or_render,
    fragments_forget_at_erasure,
    query_digest_part,
    templates_digest,
    version_read,
)

from .announcements import announcements_templates, announcements_version_sql
from .processors import processor_summary_version_sql
from .selectors import notices_version_sql, sharing_rows_of_client

FRAGMENT = "sharing-received"
BODY_TEMPLATE = "sharing/includes/received_body.html"
_TEMPLATES = (BODY_TEMPLATE, "includes/keyset_nav.html")
RECORDS_PAGE_SIZE = 50
RECORD_ORDER = ("shared_at", "id")  # newest first


def _first_page(client_id: int, today):
    return keyset_first_page(sharing_rows_of_client(client=Client(pk=client_id), today=today), fields=RECORD_ORDER,
                             size=RECORDS_PAGE_SIZE)


def first_page_version_sql(client_id: int, today) -> list[VersionPart]:
    """The rows of the first page as `keyset_page` reads them — the ORM's own query of `sharing_rows_of_client`,
    purposes' titles joined — so a record withheld under a non-disclosure order, or a processor's, is in it exactly
    when it is on the page: never, until released."""
    return [query_digest_part(_first_page, client_id, today)]


def received_version(*, client: Client, today) -> tuple | None:
    row = version_read(first_page_version_sql(client.pk, today),
                       notices_version_sql(client.pk), processor_summary_version_sql(client.pk),
                       announcements_version_sql(client.pk))
    if row is None:
        return None
    return (row, storage_location_label(), timezone.get_current_timezone_name(),
            templates_digest(*_TEMPLATES, *announcements_templates()))


def received_body(*, client: Client, first_page: bool, today, context: Callable[[], dict]) -> SafeString:
    """The body as `context()` (the page's queries, with the same `today`: what is withheld is decided once per
    request) renders it; the first page's kept while `received_version` stays the same."""
    render = lambda: render_to_string(BODY_TEMPLATE, context())  # noqa: E731
    version = received_version(client=client, today=today) if first_page else None
    return fragment_get_or_render(name=FRAGMENT, owner_id=client.pk, version=version, render=render)


def received_fragments_forget(*, client: Client) -> None:
    """Erasure: now, and again once the erasure commits (a request served in between could have kept one)."""
    fragments_forget_at_erasure(name=FRAGMENT, owner_id=client.pk)
