"""What a higher floor does when messages were sent: sharing (issue #18) records, in the transaction that marks them
sent, that each client's address went to the processor that delivered it.

notify and amendments sit below sharing and import nothing of it; sharing registers its hook in its
AppConfig.ready() (the pattern of consent/log_hooks.py). Callers hand over a whole batch at once (a chunk of 500
policy notices is one call), so the hook can record it in one statement.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

EMAIL_FIELDS = ("email",)
SMS_FIELDS = ("phone",)


@dataclass(frozen=True)
class SentMessage:
    client_id: int
    channel: str                  # "email" or "sms": which provider delivered it
    kind: str                     # what the message was (an OutboundMessage kind, or "policy-notice"/"policy-reminder")
    fields: tuple[str, ...]       # the client's data the provider received: email or phone, and name if the text has it
    sent_at: datetime


_registered: list[Callable[[list[SentMessage]], None]] = []


def messages_sent_register(hook: Callable[[list[SentMessage]], None]) -> None:
    _registered[:] = [hook]


def messages_sent_hooked() -> bool:
    return bool(_registered)


def messages_sent(batch: list[SentMessage]) -> None:
    """Call inside the transaction that records the batch as sent; a failing hook rolls that record back."""
    if batch:
        for hook in _registered:
            hook(batch)


def address_fields(channel: str, *, carries_name: bool = False) -> tuple[str, ...]:
    return (*(EMAIL_FIELDS if channel == "email" else SMS_FIELDS), *(("name",) if carries_name else ()))
