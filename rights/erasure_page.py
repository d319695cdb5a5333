"""The body of "Erase your data", kept rendered (accounts/page_fragments.py) while nothing it is rendered from has
changed. One statement reads the version of all of it, before the page's queries: the scheduled erasure as the page
reads it (rights' erasure services) and what each legal hold's reason is made from (`rights.holds`: nothing of a
disclosure while it is withheld, so Legal's work on one changes neither the page nor how fast it comes). The
client's e-mail address and reference, the grace period, the time zone and the templates' source complete it; the
language is part of the key. Only when it differs do the page's queries run and the body render; a form sent back
with an error is always rendered. The forms' CSRF token is put in per response. Erasure forgets it
(`erasure_page_fragments_forget`, called by the anonymisation: the body names the client's e-mail address)."""

from collections.abc import Callable

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString

from accounts.models import Client
from accounts.page_fragments import (
    CSRF_MARK,
    VersionPart,
    csrf_put,
    fragment_get_or_render,
    fragments_forget_at_erasure,
    query_digest_part,
    templates_digest,
    version_read,
)

from .holds import legal_holds_version_sql
from .models import DataSubjectRequest

FRAGMENT = "rights-erasure"
BODY_TEMPLATE = "rights/erasure/includes/erase_body.html"
_TEMPLATES = (BODY_TEMPLATE, "includes/form_errors.html", "includes/field.html")


def scheduled_erasures(*, client_id: int):
    """The client's erasures waiting for their date, newest first (`rights.erasure.scheduled_erasure_of`)."""
    return (DataSubjectRequest.objects.filter(client_id=client_id, kind=DataSubjectRequest.Kind.ERASURE,
                                              status=DataSubjectRequest.Status.SCHEDULED).order_by("-received_at", "-id"))


def scheduled_erasure_version_sql(client_id: int) -> list[VersionPart]:
    """The scheduled erasure the page reads, with what it shows of it."""
    return [query_digest_part(_scheduled_shown, client_id)]


def _scheduled_shown(client_id: int):
    return scheduled_erasures(client_id=client_id).values("public_id", "received_at", "scheduled_for")[:1]


def erasure_page_version(*, client: Client, today) -> tuple | None:
    row = version_read(scheduled_erasure_version_sql(client.pk), legal_holds_version_sql(client.pk, today))
    if row is None:
        return None
    return (row, client.email, str(client.public_id), settings.ERASURE_GRACE_DAYS, timezone.get_current_timezone_name(),
            templates_digest(*_TEMPLATES))


def erasure_page_body(*, request, client: Client, today, context: Callable[[], dict], keep: bool) -> SafeString:
    """The body as `context()` (the page's queries and its form, with the same `today`: what is withheld is decided
    once per request) renders it; kept, when `keep` (a form never sent), while `erasure_page_version` stays the same."""
    def render():
        return render_to_string(BODY_TEMPLATE, {**context(), "csrf_token": CSRF_MARK})

    version = erasure_page_version(client=client, today=today) if keep else None
    html = fragment_get_or_render(name=FRAGMENT, owner_id=client.pk, version=version, render=render)
    return csrf_put(html, request)


def erasure_page_fragments_forget(*, client: Client) -> None:
    fragments_forget_at_erasure(name=FRAGMENT, owner_id=client.pk)
