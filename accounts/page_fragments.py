"""Rendered parts of a client's portal pages kept in the shared cache, for PORTAL_FRAGMENT_SECONDS at most.

A fragment is stored under a key made only of its name, a keyed hash of its owner's id (so the key tells nothing
of whose it is: no id, no e-mail, nothing to enumerate) and the language, and holds the digest of everything it was
rendered from (`version`) beside the HTML. A request compares the digest with the version it reads now — in one
cheap statement — and renders again on any difference, so a change shows on the very next request; the time
limit only bounds how long an unused fragment sits in the cache. One key per owner, fragment and language: when
an owner is erased, `fragments_forget` deletes every one of them (only a first page is ever kept).

Only what the owner themselves may see goes into a fragment, and only what the version describes completely.
"""

import hashlib
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.utils.crypto import salted_hmac
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language


def fragment_key(*, name: str, owner_id: int, language: str) -> str:
    owner = salted_hmac("accounts.page_fragments", f"{name}:{owner_id}").hexdigest()[:32]
    return f"portal-fragment:{name}:{owner}:{language}"


def _seconds() -> int:
    return getattr(settings, "PORTAL_FRAGMENT_SECONDS", 3600)


def rendered(html: str) -> SafeString:
    """HTML made by one of our templates (autoescaped there), to put in a page as it is."""
    return mark_safe(html)  # nosec B308 B703  # our own template's output, escaped when it was rendered


def fragment_get_or_render(*, name: str, owner_id: int, version: tuple, render: Callable[[], str]) -> SafeString:
    """The fragment as `render()` makes it, from the cache while `version` is the one it was rendered from."""
    seconds = _seconds()
    if seconds <= 0:
        return rendered(render())
    key = fragment_key(name=name, owner_id=owner_id, language=get_language() or settings.LANGUAGE_CODE)
    digest = hashlib.sha256(repr(version).encode()).hexdigest()
    stored = cache.get(key)
    if isinstance(stored, tuple) and len(stored) == 2 and stored[0] == digest:
        return rendered(stored[1])
    html = str(render())
    cache.set(key, (digest, html), seconds)
    return rendered(html)


def fragments_forget(*, name: str, owner_id: int) -> None:
    """Delete the owner's fragments `name` in every language (erasure)."""
    cache.delete_many([fragment_key(name=name, owner_id=owner_id, language=code) for code, _label in settings.LANGUAGES])
