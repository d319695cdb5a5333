"""The first page of a client's consent history, kept rendered (accounts/page_fragments.py) while nothing it shows
has changed: the ledger is append-only, so the client's newest event fixes which events the first page lists, and
what they show changes only with a purpose's titles, a policy version's label, their places in the public log, the
language (part of the key) and the time zone. One statement reads all of that; a new consent event, a new
checkpoint or a renamed purpose shows on the very next request.

Nothing else goes in: the history lists the client's own ledger only — never a sharing record, so no disclosure
under a non-disclosure order can be in it, nor can its re-rendering betray one. Erasure forgets the fragments
(`history_fragments_forget`, called by rights' anonymisation)."""


from django.conf import settings
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from accounts.models import Client
from accounts.page_fragments import fragment_get_or_render, fragments_forget, templates_digest

from .log_hooks import consent_log

FRAGMENT = "consent-history"
ROWS_TEMPLATE = "consent/includes/history_rows.html"
_TEMPLATES = (ROWS_TEMPLATE, "consent/includes/log_place.html", "includes/keyset_nav.html")


def history_version(*, client: Client) -> tuple | None:
    """Everything the first page is rendered from, in one statement; None where it cannot be said (no log hook
    for it, or not PostgreSQL): the page is then rendered every time."""
    version_sql = consent_log().version_sql
    if version_sql is None or connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        # version_sql: the log's own constant SQL around our constant "e.id"; the client's id is a parameter.
        cursor.execute(
            "SELECT e.id, e.sequence, " + version_sql("e.id") + ", "  # nosec B608
            "(SELECT md5(string_agg(json_build_array(p.id, p.title_en, p.title_zh_hans)::text, '|' ORDER BY p.id)) "
            " FROM consent_purpose p), "
            "(SELECT md5(string_agg(json_build_array(v.id, v.label)::text, '|' ORDER BY v.id)) FROM amendments_policyversion v) "
            "FROM (SELECT 1) one LEFT JOIN LATERAL (SELECT id, sequence FROM consent_consentevent "
            "WHERE client_id = %s ORDER BY sequence DESC LIMIT 1) e ON true",
            [client.pk])
        row = cursor.fetchone()
    return (*row, settings.TIME_ZONE, consent_log().checkpoint_minutes(), templates_digest(*_TEMPLATES))


def history_rows(*, client: Client, render, first_page: bool) -> SafeString:
    """The page's rows and links: `render()` makes them; the first page is kept while `history_version` stays the
    same."""
    version = history_version(client=client) if first_page else None
    return fragment_get_or_render(name=FRAGMENT, owner_id=client.pk, version=version, render=render)


def history_rows_render(context: dict) -> str:
    return render_to_string(ROWS_TEMPLATE, context)


def history_fragments_forget(*, client: Client) -> None:
    """Erasure: the client's kept history pages and choices lists go now, and again once the erasure commits (a
    request served in between could have kept one again)."""
    from .choices_page import FRAGMENT as CHOICES

    def forget():
        for name in (FRAGMENT, CHOICES):
            fragments_forget(name=name, owner_id=client.pk)

    forget()
    transaction.on_commit(forget)
