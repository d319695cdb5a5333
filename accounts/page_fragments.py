"""Rendered parts of a client's portal pages kept in the shared cache, for PORTAL_FRAGMENT_SECONDS at most.

A fragment is stored under a key made only of its name, a keyed hash of its owner's id (so the key tells nothing
of whose it is: no id, no e-mail, nothing to enumerate) and the language, and holds the digest of everything it was
rendered from (`version`) beside the HTML. A request compares the digest with the version it reads now — in one
cheap statement — and renders again on any difference, so a change shows on the very next request; the time
limit only bounds how long an unused fragment sits in the cache. One key per owner, fragment and language: when
an owner is erased, `fragments_forget` deletes every one of them (only a first page is ever kept).

Only what the owner themselves may see goes into a fragment, and only what the version describes completely.
The key also holds the release (a digest of the code and translations that format the fragments), so a deploy never
serves HTML an older release rendered. The cache is an optimisation only: if it fails (Redis down), the page is
rendered as without it, and a forget that fails is logged and done again when the erasure commits. A fragment
rendered from rows a read replica gave is not kept: they could be older than the version, read on the primary.
"""

import hashlib
import logging
from collections.abc import Callable
from datetime import date
from functools import cache as once
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import QuerySet
from django.middleware.csrf import get_token
from django.template.loader import get_template
from django.utils.crypto import salted_hmac
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from accounts.replica import replica_used

logger = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[1]
# What formats a kept fragment besides its templates (which each version digests itself).
RELEASE_SOURCES = ["accounts/page_fragments.py", "accounts/keyset.py", "accounts/models.py", "consent/history_page.py",
                   "consent/choices_page.py", "consent/views.py", "consent/history_rows.py", "sharing/received_page.py",
                   "sharing/views.py", "fulfillmen/dashboard_page.py", "fulfillmen/views.py", "amendments/models.py",
                   "transfers/models.py", "transfers/views.py", "rights/erasure_page.py", "rights/holds.py",
                   "rights/views/erasure.py", "rights/reauth.py", "disclosures/models.py", "sharing/processors.py",
                   "sharing/models.py", "accounts/jurisdictions.py", "consent/models.py",
                   "locale/zh_Hans/LC_MESSAGES/django.mo"]


@once
def release() -> str:
    digest = hashlib.sha256()
    for name in RELEASE_SOURCES:
        path = ROOT / name
        digest.update(name.encode() + b"\0" + (path.read_bytes() if path.exists() else b"") + b"\0")
    return digest.hexdigest()[:16]


VersionPart = tuple[str, list]  # one SQL expression of a version statement, with its parameters


def rows_digest_sql(table: str, where: str = "TRUE", params: tuple = ()) -> VersionPart:
    """The md5 of every column of the rows of `table` (constant SQL of ours) that `where` selects, in id order:
    any insert, update or delete among them changes it. PostgreSQL only (`version_read`)."""
    return (f"(SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) FROM {table} t WHERE {where})", list(params))  # nosec B608


def query_digest_sql(queryset) -> VersionPart:
    """The md5 of every row the ORM's `queryset` returns — the very query a page runs, so the version covers
    exactly what it reads and hides exactly what it hides. Rows are digested sorted by their text: the same rows
    give the same digest whatever order PostgreSQL returns them in."""
    sql, params = queryset.query.sql_with_params()
    # The SQL is the ORM's own, compiled from a queryset of ours; its values stay parameters.
    return (f"(SELECT md5(string_agg(q::text, '|' ORDER BY q::text)) FROM ({sql}) q)", list(params))  # nosec B608


_STAND_INS = {int: lambda n: -(2 ** 62) - n, date: lambda n: date(1, 1, 1 + n)}
_compiled: dict[Callable, tuple[str, list, list[int | None]]] = {}


def query_digest_part(build: Callable[..., QuerySet], *values) -> VersionPart:
    """`query_digest_sql(build(*values))`, compiled by the ORM once per process: compiling a query costs more than
    PostgreSQL running it. `build` takes only the values that vary (a client's id, today's date: ints and dates,
    never a list or None, which would change the SQL itself) and must read nothing else that varies; it is compiled
    with stand-ins whose places in the parameters then take each call's values."""
    compiled = _compiled.get(build)
    if compiled is None:
        # Compiled twice, with two sets of stand-ins: anything else in the query that followed a value (a date
        # derived from it, say) would differ between the two, and is refused instead of frozen for the process.
        compiled_twice, shapes = [], []
        for offset in (0, len(values)):
            stand_ins = [_STAND_INS[type(v)](offset + n) for n, v in enumerate(values)]
            sql, params = query_digest_sql(build(*stand_ins))
            places = [next((n for n, s in enumerate(stand_ins) if type(p) is type(s) and p == s), None) for p in params]
            if sorted(n for n in places if n is not None) != list(range(len(values))):
                raise ValueError(f"{build.__qualname__}: each value must be one parameter of its query")
            compiled_twice.append((sql, params, places))
            shapes.append((sql, places, [p for p, n in zip(params, places, strict=True) if n is None]))
        if shapes[0] != shapes[1]:
            raise ValueError(f"{build.__qualname__}: its query must depend on its values only as parameters")
        compiled = _compiled[build] = compiled_twice[0]
    sql, params, places = compiled
    return (sql, [p if n is None else values[n] for p, n in zip(params, places, strict=True)])


def version_read(*groups: list[VersionPart] | None) -> tuple | None:
    """Every group's parts in one statement, on the primary; None where that cannot be said (not PostgreSQL, or a
    group that is None: a reader without a version) or is not needed (PORTAL_FRAGMENT_SECONDS 0: nothing is kept):
    the page is then rendered every time."""
    if connection.vendor != "postgresql" or _seconds() <= 0 or any(group is None for group in groups):
        return None
    # A part two readers share, once.
    parts = list(dict.fromkeys((sql, tuple(params)) for group in groups for sql, params in group))
    with connection.cursor() as cursor:
        # Each part's SQL is our own constant text; every value in it is a parameter.
        cursor.execute("SELECT " + ", ".join(sql for sql, _params in parts),  # nosec B608
                       [value for _sql, params in parts for value in params])
        return cursor.fetchone()


@once
def templates_digest(*names: str) -> str:
    """The source of a fragment's templates as this process loaded them: a deploy that changes one renders anew."""
    sources = [get_template(name).template.source for name in names]
    return hashlib.sha256("\0".join(sources).encode()).hexdigest()


CSRF_MARK = "\ue000csrf\ue000"  # a private-use character: never in a translation, a title or a URL


def csrf_put(html: str, request) -> SafeString:
    """A kept fragment rendered with `csrf_token` CSRF_MARK, with this request's own token in its forms."""
    return rendered(html.replace(CSRF_MARK, escape(get_token(request))))


def fragment_key(*, name: str, owner_id: int, language: str) -> str:
    owner = salted_hmac("accounts.page_fragments", f"{name}:{owner_id}").hexdigest()[:32]
    return f"portal-fragment:{release()}:{name}:{owner}:{language}"


def _seconds() -> int:
    return getattr(settings, "PORTAL_FRAGMENT_SECONDS", 3600)


def rendered(html: str) -> SafeString:
    """HTML made by one of our templates (autoescaped there), to put in a page as it is."""
    return mark_safe(html)  # nosec B308 B703  # our own template's output, escaped when it was rendered


def fragment_get_or_render(*, name: str, owner_id: int, version: tuple | None, render: Callable[[], str]) -> SafeString:
    """The fragment as `render()` makes it, from the cache while `version` is the one it was rendered from (None: no
    version could be read, or the page is not one that is kept; rendered every time, never kept)."""
    seconds = _seconds()
    if version is None or seconds <= 0:
        return rendered(render())
    key = fragment_key(name=name, owner_id=owner_id, language=get_language() or settings.LANGUAGE_CODE)
    digest = hashlib.sha256(repr(version).encode()).hexdigest()
    try:
        stored = cache.get(key)
    except Exception:  # the cache is an optimisation: a page never fails with it (Redis down)
        logger.warning("portal fragment cache unreadable; rendering %s without it", name, exc_info=True)
        return rendered(render())
    if isinstance(stored, tuple) and len(stored) == 2 and stored[0] == digest:
        return rendered(stored[1])
    html = str(render())
    if replica_used():
        return rendered(html)
    try:
        cache.set(key, (digest, html), seconds)
    except Exception:
        logger.warning("portal fragment cache unwritable; %s not kept", name, exc_info=True)
    return rendered(html)


DASHBOARD = "portal-dashboard"  # fulfillmen/dashboard_page.py: named here, where erasure can reach it


def fragments_forget(*, name: str, owner_id: int) -> bool:
    """Delete the owner's fragments `name` in every language (erasure). False, logged, when the cache failed: the
    caller does it again once its transaction commits (a fragment is keyed by a hash and holds no name or e-mail)."""
    try:
        cache.delete_many([fragment_key(name=name, owner_id=owner_id, language=code) for code, _label in settings.LANGUAGES])
    except Exception:
        logger.error("portal fragments %s of an erased client not deleted yet (cache unavailable)", name, exc_info=True)
        return False
    return True


def fragments_forget_at_erasure(*, name: str, owner_id: int) -> None:
    """Erasure: the owner's fragments `name` go now, and again once the erasure commits (a request served in
    between could have kept one again)."""
    fragments_forget(name=name, owner_id=owner_id)
    transaction.on_commit(lambda: fragments_forget(name=name, owner_id=owner_id))


def dashboard_fragments_forget(*, owner_id: int) -> None:
    fragments_forget_at_erasure(name=DASHBOARD, owner_id=owner_id)
