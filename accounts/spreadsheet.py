"""Text for a CSV cell that someone will open in a spreadsheet (CSV/formula injection, OWASP).

A cell that starts like a formula (=, +, -, @, or a tab or carriage return) is prefixed with an apostrophe, so the
spreadsheet shows it as text instead of running it. Values that are only a signed number or a phone number
(+49 151 2345 6789, -2) stay as they are: a number runs nothing, and a defused phone number would read wrongly.
Used by every CSV the portal writes: the client's export, the admin's client export, the privacy dashboard.
"""

import re

_NUMBER = re.compile(r"^[+-]?[\d\s().-]+$")


def spreadsheet_text(text: str) -> str:
    if text[:1] in ("=", "@", "\t", "\r") or (text[:1] in ("+", "-") and not _NUMBER.match(text)):
        return "'" + text
    return text
