"""What an app above adds to the portal's "Who received your data" (imports only go down): an announced business
transfer is shown there before any data has gone. An app registers `announcer(client) -> list[str]` (HTML it
rendered itself, escaped by its own templates) in its AppConfig.ready()."""

from collections.abc import Callable

_announcers: list[Callable] = []


def received_page_announcer_register(announcer: Callable) -> None:
    if announcer not in _announcers:
        _announcers.append(announcer)


def received_page_announcements(*, client) -> list[str]:
    return [html for announcer in _announcers for html in announcer(client)]
