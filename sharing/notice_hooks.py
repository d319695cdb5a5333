"""What a higher floor does when sharing writes withdrawal notices or changes an agreement: webhooks (issue #19)
turns them into events for the recipient's endpoints, in the same transaction (the outbox pattern).

Sharing imports nothing of webhooks; webhooks registers its hooks in its AppConfig.ready() (the pattern of
notify/hooks.py). Every path that writes notices hands over the new rows' ids in one call, so the hook can fan out
set-based.
"""

from collections.abc import Callable

_notices: list[Callable[[list[int]], None]] = []
_agreements: list[Callable[..., None]] = []


def notices_created_register(hook: Callable[[list[int]], None]) -> None:
    _notices[:] = [hook]


def notices_created(notice_ids: list[int]) -> None:
    """Call inside the transaction that inserted the notices; a failing hook rolls them back."""
    if notice_ids:
        for hook in _notices:
            hook(list(notice_ids))


def agreement_changed_register(hook: Callable[..., None]) -> None:
    _agreements[:] = [hook]


def agreement_changed(*, agreement, change: str) -> None:
    """`change`: "created" or "ended". Called in the transaction that made the change."""
    for hook in _agreements:
        hook(agreement=agreement, change=change)
