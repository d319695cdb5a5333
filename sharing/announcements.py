"""What an app above adds to the portal's "Who received your data" (imports only go down): an announced business
transfer is shown there before any data has gone. An app registers, in its AppConfig.ready(), `announcer(client)
-> list[str]` (HTML it rendered itself, escaped by its own templates), with `version_sql(client_id)` — the parts of
a version statement (accounts/page_fragments.py) covering everything the announcer reads — and the templates it
renders, so the page's kept body changes exactly when an announcement does."""

from collections.abc import Callable
from dataclasses import dataclass

from accounts.page_fragments import VersionPart


@dataclass(frozen=True)
class Announcer:
    announce: Callable  # (client) -> list[str]
    version_sql: Callable[[int], list[VersionPart]]
    templates: tuple[str, ...] = ()


_announcers: list[Announcer] = []


def received_page_announcer_register(announcer: Announcer) -> None:
    if announcer not in _announcers:
        _announcers.append(announcer)


def received_page_announcements(*, client) -> list[str]:
    return [html for announcer in _announcers for html in announcer.announce(client)]


def announcements_version_sql(client_id: int) -> list[VersionPart]:
    return [part for announcer in _announcers for part in announcer.version_sql(client_id)]


def announcements_templates() -> tuple[str, ...]:
    return tuple(name for announcer in _announcers for name in announcer.templates)
