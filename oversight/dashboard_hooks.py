"""Sections that apps above oversight add to the privacy dashboard: the record of processing and the impact
assessments due (processing). Each registers `section(request) -> dict | None` in its AppConfig.ready(); the dict
names the `template` that renders it (as `section`). None: nothing to show to this user."""

from collections.abc import Callable

_sections: list[Callable] = []


def dashboard_section_register(section: Callable) -> None:
    if section not in _sections:
        _sections.append(section)


def dashboard_sections(request) -> list[dict]:
    return [shown for shown in (section(request) for section in _sections) if shown]
