"""What the public consent log adds to consent's own surfaces: the receipt's `transparencyLog` part, the receipt
e-mail's paragraph on verifying it, and each event's place on the history page.

The log (`transparency_log`) sits above consent and reads the ledger; consent imports no app above it. So the log
registers these in its AppConfig.ready() and consent asks for them here.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ConsentLogHooks:
    receipt_part: Callable  # (event) -> dict: the receipt's transparencyLog object
    places: Callable  # (events) -> {event id: place}: index and first checkpoint covering it, or pending
    receipt_email_paragraph: Callable  # () -> str, in the active language
    checkpoint_minutes: Callable  # () -> int | None: how long a new event waits for a checkpoint (None: no schedule)
    # (SQL expression of an event id) -> an SQL expression whose value changes whenever `places` would give another
    # answer for any event of that event's client up to it: the history page's cached rows compare it (PostgreSQL)
    version_sql: Callable | None = None


_registered: list[ConsentLogHooks] = []


def consent_log_register(hooks: ConsentLogHooks) -> None:
    _registered[:] = [hooks]


def consent_log() -> ConsentLogHooks:
    if not _registered:
        raise LookupError("the public consent log (transparency_log) is not installed")
    return _registered[0]
