"""Visiting a portal page whose body may be kept rendered (accounts/page_fragments.py), as the kept-page tests do."""

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext


def kept_visit(browser, path: str, params: dict | None = None, **headers) -> tuple[str, int]:
    """The page (200) without its per-response CSRF tokens — the header's logout form, the page's forms: the rest
    of two visits must be equal — and how many statements it took."""
    with CaptureQueriesContext(connection) as queries:
        response = browser.get(path, params or {}, **headers)
    assert response.status_code == 200
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode()), len(queries)
