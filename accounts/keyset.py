"""Keyset pagination for the portal's long lists ("Who received your data", the consent history): Newer / Older
links that carry the position of the last row shown, never a page number, so a page costs one indexed read of
`size + 1` rows however long the list is, and nothing is ever counted. A row added while the client reads shows on
the first page without moving any other row between pages.

The position is a tuple of the ordering's values (newest first: descending), written as text and sealed into the
link (`cursor_seal`: AES-SIV under a key derived from SECRET_KEY): a row's id is a global counter — the sharing
records' counts every record written for anyone — and a client reading their own cursors must not learn how many
were written in between. Sealing is deterministic (the same position, the same link: a kept page stays the same
bytes) and authenticated; a cursor that does not open or parse gives the first page, as if there were none."""

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils.crypto import salted_hmac

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class KeysetPage:
    """One page of rows, newest first, and the cursors of the pages on either side (None: there is none)."""

    rows: list
    newer: str | None
    older: str | None

    @property
    def has_other_pages(self) -> bool:
        return self.newer is not None or self.older is not None


def moment_text(value: datetime) -> str:
    """A timestamp as whole microseconds since the epoch: exact (a second's rows stay apart) and short."""
    delta = value - EPOCH
    return str((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds)


def moment_parse(text: str) -> datetime:
    micros = int(text)
    if not -(10**17) < micros < 10**17:
        raise ValueError("out of range")
    return EPOCH + timedelta(microseconds=micros)


CURSOR_MAX = 1000  # characters: a sealed position is 107


WIDTH = 64  # bytes: a position is padded to a multiple of it, so a cursor's length tells nothing of an id's digits


def _cipher(secret: str | None = None) -> AESSIV:
    return AESSIV(salted_hmac("accounts.keyset.cursor", "aes-siv", secret=secret, algorithm="sha512").digest())


def cursor_seal(text: str, *, use: str = "portal") -> str:
    """`text` (no trailing spaces) sealed for one `use`, authenticated with it: a cursor of one use never opens for
    another."""
    data = text.encode()
    data += b" " * (-len(data) % WIDTH or (0 if data else WIDTH))
    return base64.urlsafe_b64encode(_cipher().encrypt(data, [use.encode()])).rstrip(b"=").decode()


def cursor_open(token: str, *, use: str = "portal") -> str:
    """The text `cursor_seal` sealed for `use`, under SECRET_KEY or one of SECRET_KEY_FALLBACKS (a rotation does
    not break a sync under way); ValueError for anything else (edited, made up, sealed for another use or key)."""
    if len(token) > CURSOR_MAX:
        raise ValueError("too long")
    sealed = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    for secret in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS):
        try:
            return _cipher(secret).decrypt(sealed, [use.encode()]).decode().rstrip(" ")
        except InvalidTag:
            continue
        except UnicodeDecodeError as exc:
            raise ValueError("not a cursor of ours") from exc
    raise ValueError("not a cursor of ours")


def _after(fields: tuple[str, ...], values: tuple, *, older: bool) -> Q:
    """Rows strictly past `values` in the order `fields` descending (older) or ascending (newer)."""
    op = "lt" if older else "gt"
    condition = Q()
    for i, name in enumerate(fields):
        step = Q(**{f"{f}": v for f, v in zip(fields[:i], values[:i], strict=True)}, **{f"{name}__{op}": values[i]})
        condition |= step
    return condition


def keyset_first_page(queryset: QuerySet, *, fields: tuple[str, ...], size: int) -> QuerySet:
    """The query of the first page (`size` rows and one more, to know whether there is an older page): what
    `keyset_page` runs without a cursor, for a kept page's version to read the same rows."""
    return queryset.order_by(*[f"-{f}" for f in fields])[: size + 1]


def keyset_page(queryset: QuerySet, *, fields: tuple[str, ...], key, size: int, older: str | None = None,
                newer: str | None = None, parse, write) -> KeysetPage:
    """The page of `queryset` (any order: this one orders it by `fields`, newest first) after `older` or before
    `newer`. `key(row)` gives a row's values of `fields`; `parse(text)` reads a cursor back into them (raising
    ValueError for a bad one), `write(values)` writes them."""
    descending = [f"-{f}" for f in fields]

    def seal(values) -> str:
        return cursor_seal(write(values))

    position = None
    going_older = True
    for text, towards_older in ((older, True), (newer, False)):
        if text:
            try:
                position = parse(cursor_open(text))
            except (ValueError, TypeError, OverflowError):
                position = None
            else:
                going_older = towards_older
                break
    if position is None:
        rows = list(keyset_first_page(queryset, fields=fields, size=size))
        more = len(rows) > size
        rows = rows[:size]
        return KeysetPage(rows, newer=None, older=seal(key(rows[-1])) if more else None)
    if going_older:
        rows = list(queryset.filter(_after(fields, position, older=True)).order_by(*descending)[: size + 1])
        more = len(rows) > size
        rows = rows[:size]
        return KeysetPage(rows, newer=seal(key(rows[0])) if rows else seal(position),
                          older=seal(key(rows[-1])) if more else None)
    rows = list(queryset.filter(_after(fields, position, older=False)).order_by(*fields)[: size + 1])
    more = len(rows) > size
    rows = rows[:size][::-1]
    return KeysetPage(rows, newer=seal(key(rows[0])) if more else None,
                      older=seal(key(rows[-1])) if rows else seal(position))
