"""Who the recipient of a per-recipient consent purpose is, for consent's own surfaces ("Your choices", receipts).

A purpose with named recipients has one child purpose per recipient (Purpose.parent); the recipients themselves are
the sharing app's (sharing.Affiliate), which sits above consent. So sharing registers `recipients_for` in its
AppConfig.ready() and consent asks for it here, as it asks the public log for its parts (consent/log_hooks.py).
Without sharing installed a child purpose simply has no recipient details.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Recipient:
    """What a client is told about the recipient of a child purpose before consenting (PIPL Art. 23, 39)."""

    name: str                        # legal name
    contact_name: str
    contact_email: str
    address: str
    country: str                     # ISO 3166-1 alpha-2
    country_name: str                # in the active language
    rights_contact: str              # how to exercise one's rights against it: an e-mail address or a web page
    abroad: bool                     # its country is not where the data is stored
    transfer_mechanism: str          # sharing.Affiliate.TransferMechanism value
    transfer_mechanism_label: str
    transfer_mechanism_reference: str
    data_categories: tuple[str, ...]  # DataCategory codes it receives under its agreement in force (or last)
    transfer_consent: bool           # a separate consent to a transfer abroad under a purpose that is not consent-based


_registered: list[Callable[[Iterable[int]], dict[int, Recipient]]] = []
_versions: list[Callable[[], list] | None] = [None]


def recipients_register(lookup: Callable[[Iterable[int]], dict[int, Recipient]],
                        version_sql: Callable[[], list] | None = None) -> None:
    """`version_sql`: () -> the SQL of a version of everything `lookup` reads (accounts/page_fragments.py); without
    one, pages naming recipients are never kept rendered."""
    _registered[:] = [lookup]
    _versions[:] = [version_sql]


def recipients_version_sql() -> list | None:
    if not _registered:
        return []
    return None if _versions[0] is None else _versions[0]()


def recipients_for(purpose_ids: Iterable[int]) -> dict[int, Recipient]:
    """{child purpose id: its Recipient}, in one query, for the ids that are per-recipient purposes."""
    ids = list(purpose_ids)
    if not _registered or not ids:
        return {}
    return _registered[0](ids)
