"""The body of a client's dashboard, kept rendered (accounts/page_fragments.py) while nothing it shows has changed.

One statement reads the version of everything the body is rendered from, each part from the app that owns it:
the client's record, addresses and IP addresses (every column: accounts), the purposes, the client's consent
states, newest ledger event and offers (consent), every policy version and which are pending now (consent's
policy answers), the newest visible sharing record and the capped count (sharing: a record withheld under a
non-disclosure order is in neither, so writing one changes nothing here and cannot be timed), and the business
transfers that concern the client (transfers). The GPC signal of the request, the time zone and the templates'
source complete it; the language is part of the key. A change shows on the very next request (tested, one kind at
a time); when the version cannot be read (not PostgreSQL) the body is rendered every time.

The body holds the client's own data — name, e-mail, addresses, IP addresses — as the page does: it is kept under
a keyed hash of the client's id in the shared cache for PORTAL_FRAGMENT_SECONDS at most, overwritten by the next
version (one key per client and language) and deleted at erasure (`accounts.page_fragments.dashboard_fragments_forget`).
"""


from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString

from accounts.models import Client
from accounts.page_fragments import DASHBOARD, fragment_get_or_render, templates_digest, version_read
from accounts.selectors import client_data_version_sql
from consent.middleware import request_has_gpc
from consent.policy_answers import policy_versions_version_sql
from consent.selectors import choices_version_sql
from sharing.selectors import sharing_summary_version_sql
from transfers.selectors import transfers_version_sql

BODY_TEMPLATE = "portal/includes/dashboard_body.html"
_TEMPLATES = (BODY_TEMPLATE, "consent/includes/gpc_note.html", "consent/includes/consent_state.html",
              "amendments/includes/when.html", "transfers/includes/announced.html")


def dashboard_version(request, *, client: Client) -> tuple | None:
    row = version_read(client_data_version_sql(client.pk), choices_version_sql(client.pk),
                       policy_versions_version_sql(at=timezone.now()), sharing_summary_version_sql(client.pk),
                       transfers_version_sql(client.pk))
    if row is None:
        return None
    return (row, request_has_gpc(request), timezone.get_current_timezone_name(), templates_digest(*_TEMPLATES))


def dashboard_body(request, *, client: Client, context) -> SafeString:
    """The body as `context()` (the page's queries) renders it; kept while `dashboard_version` stays the same."""
    version = dashboard_version(request, client=client)
    render = lambda: render_to_string(BODY_TEMPLATE, context())  # noqa: E731
    return fragment_get_or_render(name=DASHBOARD, owner_id=client.pk, version=version, render=render)
