"""Bad bytes in any part of a URL or in any HTML form field never give a 5xx (issue #16.12).

What is fuzzed is derived, not listed: every parameter of every URL pattern of the permission matrix (its small world
gives the other parameters), every query parameter a view reads (found in the views' source, the forms and API
serializers bound to the query, Django's admin and auth names, and the links and GET forms on the page itself),
and every field of every HTML form on every public and portal page, as an anonymous visitor and as a logged-in
client. Each gets NUL, another control character, 10 kB, invalid UTF-8 (%ff%fe) and emoji. A new URL, a new query
parameter or a new form is fuzzed without touching this file.

Control characters in a path or a query are refused with 400, in a form field they are a message next to the field
(accounts/text_input.py; tests/project/test_control_characters.py checks both).
"""

import importlib
import inspect
import itertools
import logging
import re
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote, urlencode, urljoin, urlsplit

import pytest
from django.contrib.admin.views.main import (
    ALL_VAR,
    ERROR_FLAG,
    IS_FACETS_VAR,
    IS_POPUP_VAR,
    ORDER_VAR,
    PAGE_VAR,
    SEARCH_VAR,
    TO_FIELD_VAR,
)
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.db import transaction
from django.urls import resolve
from django.utils import timezone

from amendments.services import notice_period, policy_draft_save, policy_publish
from tests.project.test_permission_matrix import (
    LOGOUTS,
    URLS,
    admin_rows,
    browser_for,
    expected_for,
    request_path,
    url_patterns,
)

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "amendments", "consent", "disclosures", "notify", "oversight", "rights", "sharing", "transparency_log",
        "fulfillmen")
PAYLOADS = {
    "nul": b"a\x00b",
    "escape": b"a\x1b[2Jb",
    "10 kB": b"x" * 10_240,
    "invalid utf-8": b"\xff\xfe",
    "emoji": "\U0001F600\U0001F1E8\U0001F1F3".encode(),
}
# The roles a URL is tried as: an anonymous visitor, and the first of the others the matrix lets reach the view.
ROLES = ("anonymous", "client_a", "affiliate_a", "privacy")
_addresses = itertools.count(1)


def fresh_ip() -> str:
    """Another address per request: the per-address limits would otherwise answer before the view is reached."""
    n = next(_addresses)
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


@pytest.fixture(autouse=True)
def only_server_errors_logged(caplog):
    """Each 404 and 400 logs its path (and a refused admin lookup its parameters), and masking personal data out of
    a 10 kB line takes a noticeable while: only the 5xx this test looks for are logged."""
    caplog.set_level(logging.ERROR, logger="django.request")
    caplog.set_level(logging.CRITICAL, logger="django.security")


@contextmanager
def rolled_back():
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def browser_as(world, role):
    """The matrix's browser for the role, answering a view's exception with the 500 a visitor would get."""
    browser = browser_for(world, role)
    browser.raise_request_exception = False
    return browser


def server_error(response, what: str) -> str | None:
    return f"{what}: {response.status_code}" if response.status_code >= 500 else None


# --- what a page offers: its forms and its links --------------------------------------------------------------------

class PageParts(HTMLParser):
    """The forms (method, action, [(name, value)]) and the link targets of an HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms, self.links, self._form, self._select, self._textarea = [], [], None, None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form":
            self._form = {"method": (a.get("method") or "get").upper(), "action": a.get("action") or "", "fields": []}
        elif self._form is None or not (a.get("name") or tag == "option"):
            return
        elif tag == "input" and a.get("type", "text") not in ("submit", "button", "image", "reset", "file"):
            fields, field = self._form["fields"], (a["name"], a.get("value") or "")
            if a.get("type") == "radio" and any(name == a["name"] for name, _ in fields):
                if "checked" in a:  # a group's checked choice, else its first
                    fields[:] = [field if name == a["name"] else (name, v) for name, v in fields]
            else:
                fields.append(field)
        elif tag == "select":
            self._select = [a["name"], None, None]
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            self._select[1] = value if self._select[1] is None else self._select[1]
            self._select[2] = value if "selected" in a else self._select[2]
        elif tag == "textarea":
            self._textarea = a["name"]
            self._form["fields"].append((a["name"], ""))

    def handle_endtag(self, tag):
        if tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None
        elif tag == "select" and self._select is not None and self._form is not None:
            name, first, selected = self._select
            self._form["fields"].append((name, selected if selected is not None else first or ""))
            self._select = None


def page_parts(response) -> PageParts:
    parts = PageParts()
    if response.status_code == 200 and response.get("Content-Type", "").startswith("text/html"):
        parts.feed(response.content.decode("utf-8", "replace"))
    return parts


# --- the query parameters the views read ----------------------------------------------------------------------------

READS = re.compile(r"""(?:GET|query_params)(?:\.get(?:list)?\(|\[)\s*["']([^"']+)["']""")
TESTED = re.compile(r"""["']([^"']+)["']\s+(?:not\s+)?in\s+request\.(?:GET|query_params)""")
BOUND = re.compile(r"""(\w+)\(request\.(?:GET|query_params)|_parse\((\w+),\s*request\.query_params""")
DJANGO = {ALL_VAR, ERROR_FLAG, IS_FACETS_VAR, IS_POPUP_VAR, ORDER_VAR, PAGE_VAR, SEARCH_VAR, TO_FIELD_VAR,
          REDIRECT_FIELD_NAME, "_changelist_filters", "lang"}


def _fields_of(cls) -> set[str]:
    if hasattr(cls, "base_fields"):  # a Django form, and the fields its __init__ adds
        return set(cls.base_fields) | set(re.findall(r"""fields\[["'](\w+)["']\]""", inspect.getsource(cls)))
    if hasattr(cls, "get_fields"):  # a DRF serializer
        return set(cls().fields)
    return set()


def query_names_read_by_views() -> set[str]:
    names = set(DJANGO)
    for app in APPS:
        for source in (ROOT / app).rglob("*.py"):
            if "migrations" in source.parts:
                continue
            text = source.read_text()
            names |= set(READS.findall(text)) | set(TESTED.findall(text))
            module = None
            for found in itertools.chain.from_iterable(BOUND.findall(text)):
                if found:
                    module = module or importlib.import_module(".".join(source.relative_to(ROOT).with_suffix("").parts))
                    names |= _fields_of(getattr(module, found, None))
    return names


# --- which entries, as whom -----------------------------------------------------------------------------------------

def reaching_roles(row) -> list[str]:
    """Anonymous (refused before the view, but through the URL resolver), and the first role the matrix lets past
    the log-in for this entry."""
    refused = ("login", "admin-login", "admin", 401, 403)
    return ["anonymous", *[r for r in ROLES[1:] if expected_for(row, r) not in refused][:1]]


def fuzzed_entries():
    """The permission matrix's public, portal, API and admin-site entries, and each admin model's changelist (the
    search, the filters, the sorting: the admin pages that read the query)."""
    return {**URLS, **{key: row for key, row in admin_rows().items() if key.endswith("_changelist")}}




CONVERTER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def path_with(route: str, values: dict, fuzzed: str, payload: bytes) -> str:
    """The route with each parameter filled from the world, and `fuzzed` holding the payload (percent-encoded, as a
    browser sends bytes)."""
    def fill(match):
        name = match["name"]
        return quote(payload, safe="") if name == fuzzed else quote(str(values[name]), safe="")
    return "/" + CONVERTER.sub(fill, route)


def send(browser, method, path, *, query: list | None = None, body: list | None = None):
    address = fresh_ip()
    if query:
        path = f"{path}?{urlencode(query)}"
    if method == "GET":
        return browser.get(path, REMOTE_ADDR=address)
    return browser.post(path, urlencode(body or []), content_type="application/x-www-form-urlencoded",
                        REMOTE_ADDR=address)


# --- the tests ------------------------------------------------------------------------------------------------------

def test_no_url_parameter_gives_a_server_error_whatever_it_holds(world):
    routes = dict(url_patterns())
    errors = []
    for key, row in fuzzed_entries().items():
        route = routes[key.split(" ")[0]]
        if row.path or not CONVERTER.search(route):
            continue
        values = row.kwargs(world.ids)
        for role in reaching_roles(row):
            browser = browser_as(world, role)  # a fresh one per entry: a link's page may end the session
            for name, (label, payload) in itertools.product(values, PAYLOADS.items()):
                with rolled_back():
                    response = send(browser, row.method, path_with(route, values, name, payload))
                errors.append(server_error(response, f"{row.method} {key} <{name}>={label} as {role}"))
    errors = [e for e in errors if e]
    assert not errors, f"{len(errors)} server error(s):\n" + "\n".join(errors)


def test_no_query_parameter_gives_a_server_error_whatever_it_holds(world):
    read_by_views = query_names_read_by_views()
    errors = []
    for key, row in fuzzed_entries().items():
        if row.method != "GET" or row.json:
            continue
        for role in reaching_roles(row):
            browser = browser_as(world, role)
            path = request_path(key, row, world.ids)
            given = {k: str(v) for k, v in (row.query(world.ids) if row.query else {}).items()}
            page = page_parts(browser.get(path, given))
            on_page = {name for link in page.links if urlsplit(urljoin(path, link)).path == path
                       for name, _ in _query_pairs(urljoin(path, link))}
            on_page |= {name for form in page.forms if form["method"] == "GET" for name, _ in form["fields"]}
            for label, payload in PAYLOADS.items():
                # Each name the row gives alone (the others right), then every name at once.
                cases = [[(n, payload if n == name else v) for n, v in given.items()] for name in given]
                cases.append([*given.items(), *((n, payload) for n in sorted(read_by_views | on_page) if n not in given)])
                for query in cases:
                    with rolled_back():
                        response = send(browser, "GET", path, query=query)
                    errors.append(server_error(response, f"GET {key}?{_names(query, payload)}={label} as {role}"))
    errors = [e for e in errors if e]
    assert not errors, f"{len(errors)} server error(s):\n" + "\n".join(errors)


def _query_pairs(url: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


def _names(query, payload) -> str:
    return ",".join(n for n, v in query if v == payload)


def forms_on_public_and_portal_pages(world, role):
    """(page key, form) for each distinct form (by method, target and field names) the role's pages show."""
    browser, seen = browser_as(world, role), {}
    for key, row in URLS.items():
        if row.method != "GET" or key.startswith(("api", "admin", "oversight")) or expected_for(row, role) != 200:
            continue
        path = request_path(key, row, world.ids)
        for form in page_parts(browser.get(path, row.query(world.ids) if row.query else {})).forms:
            action = urlsplit(urljoin(path, form["action"])).path if form["action"] else path
            form = {**form, "action": action}
            seen.setdefault((form["method"], action, tuple(sorted(n for n, _ in form["fields"]))), (key, form))
    return list(seen.values())


@pytest.fixture
def two_published_versions(world):
    """A second published version, so that the policy pages show their comparison form too."""
    policy_publish(version=policy_draft_save(label="2026-03", body_en="# Policy\n\nThird.", summary="Third."),
                   now=timezone.now() - notice_period(material=False), effective_at=timezone.now())


@pytest.mark.parametrize("role", ["anonymous", "client_a"])
def test_no_field_of_any_form_gives_a_server_error_whatever_it_holds(world, two_published_versions, role):
    forms = forms_on_public_and_portal_pages(world, role)
    assert len(forms) >= (4 if role == "anonymous" else 8), [form["action"] for _, form in forms]
    errors = []
    for (page, form), (label, payload) in itertools.product(forms, PAYLOADS.items()):
        fields = [(n, v) for n, v in form["fields"] if n != "csrfmiddlewaretoken"]
        ends_session = resolve(form["action"]).view_name in LOGOUTS or form["action"].startswith("/i18n/")
        browser = browser_as(world, role)
        for fuzzed in [*dict(fields), None]:  # each field alone, then all of them at once
            data = [(n, payload if fuzzed in (n, None) else v) for n, v in fields]
            with rolled_back():
                if form["method"] == "GET":
                    response = send(browser, "GET", form["action"], query=data)
                else:
                    response = send(browser, "POST", form["action"], body=data)
            errors.append(server_error(response, f"{form['method']} {form['action']} (on {page}) "
                                                 f"{fuzzed or 'every field'}={label} as {role}"))
            if ends_session:
                browser = browser_as(world, role)  # logged out, or switched language: start again
    errors = [e for e in errors if e]
    assert not errors, f"{len(errors)} server error(s):\n" + "\n".join(errors)
