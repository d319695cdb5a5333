"""Every cookie the portal sets, declared once: the cookie page shows this list, and nothing else reaches a browser.

`UndeclaredCookieMiddleware` removes any cookie that is not declared here (and logs an error, which the test
suite turns into a failure), and any declared cookie that is not strictly necessary unless the visitor opted in.
Today every cookie is strictly necessary, so the portal shows no consent banner; a system check refuses a
non-essential cookie until an opt-in exists to go with it.

The policy says the same (issue #18.15): its Cookies section names each cookie in `backticks`, and
`policy_cookie_mismatches` compares those names with this list both ways — no cookie named that the portal does not
set (the first policy promised cart and shipment-tracking cookies the portal never had), none set that it does not
name. The database check `fulfillmen.W002` applies it to the versions in force and upcoming.
"""

import logging
import re
from dataclasses import dataclass

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.core import checks
from django.db import DatabaseError
from django.shortcuts import render
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

logger = logging.getLogger("fulfillmen.cookies")


@dataclass(frozen=True)
class Cookie:
    name: str
    purpose: str
    lifetime: str
    strictly_necessary: bool


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return str(_("until you close the browser"))
    days, hours = seconds // 86400, seconds // 3600
    if days >= 364:
        return ngettext("%(n)d year", "%(n)d years", round(days / 365)) % {"n": round(days / 365)}
    if days:
        return ngettext("%(n)d day", "%(n)d days", days) % {"n": days}
    return ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}


_lifetime = lazy(_duration, str)


def declared_cookies() -> list[Cookie]:
    return [
        Cookie(settings.SESSION_COOKIE_NAME,
               _("Keeps you logged in to the portal (a random key; what it refers to stays on our server)."),
               _lifetime(settings.SESSION_COOKIE_AGE), True),
        Cookie(settings.CSRF_COOKIE_NAME,
               _("Protects your forms against cross-site request forgery: a form sent from another site is refused."),
               _lifetime(settings.CSRF_COOKIE_AGE), True),
        Cookie(settings.LANGUAGE_COOKIE_NAME,
               _("Remembers the language you chose with the language switcher."),
               _lifetime(settings.LANGUAGE_COOKIE_AGE), True),
        Cookie(CookieStorage.cookie_name,
               _("Carries a confirmation message (such as “Your choice was saved”) to the next page you see."),
               _lifetime(None), True),
    ]


def _allowed(name: str, request) -> bool:
    cookie = next((c for c in declared_cookies() if c.name == name), None)
    if cookie is None:
        logger.error("Undeclared cookie %r removed from the response to %s; declare it in fulfillmen/cookies.py.",
                     name, request.path)
        return False
    return cookie.strictly_necessary  # non-essential cookies would need the visitor's opt-in (none exists yet)


class UndeclaredCookieMiddleware:
    """Outermost of the middleware that set cookies, so it sees all of them on the way out."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(response, "same_for_everyone", False):  # a public, cacheable answer: no cookie may ride on it
            response.cookies.clear()
            vary = [v.strip() for v in response.get("Vary", "").split(",") if v.strip() and v.strip().lower() != "cookie"]
            if vary:
                response["Vary"] = ", ".join(vary)
            elif response.has_header("Vary"):
                del response["Vary"]
        for name in [n for n in response.cookies if not _allowed(n, request)]:
            del response.cookies[name]
        return response


@checks.register
def non_essential_cookies_need_an_opt_in(app_configs=None, cookies: list[Cookie] | None = None, **kwargs):
    return [
        checks.Error(f"The cookie {c.name!r} is declared as not strictly necessary, but the portal has no cookie "
                     "opt-in: add one (and the banner that asks) before setting such a cookie.",
                     obj="fulfillmen.cookies", id="fulfillmen.E001")
        for c in (declared_cookies() if cookies is None else cookies) if not c.strictly_necessary
    ]


# A Markdown heading (any level) whose text mentions cookies, in either language ("Cookies", "Cookie", "Cookie 政策").
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$", re.M)
_NAME = re.compile(r"`([^`\s]+)`")


def cookie_section(text: str) -> str | None:
    """The policy's section about cookies: from its heading to the next heading of the same or a higher level."""
    headings = list(_HEADING.finditer(text or ""))
    for i, heading in enumerate(headings):
        if "cookie" in heading[2].lower():
            level = len(heading[1])
            end = next((h.start() for h in headings[i + 1:] if len(h[1]) <= level), len(text))
            return text[heading.end():end]
    return None


def policy_cookie_mismatches(text: str, *, cookies: list[Cookie] | None = None) -> list[str]:
    """Where a policy text and the cookies the portal sets disagree (empty: they agree). A cookie counts as named
    when its name stands in backticks in the Cookies section."""
    section = cookie_section(text)
    if section is None:
        return ["it has no section about cookies"]
    named = set(_NAME.findall(section))
    declared = {c.name for c in (declared_cookies() if cookies is None else cookies)}
    return ([f"it names the cookie {name!r}, which the portal never sets" for name in sorted(named - declared)]
            + [f"it does not name the cookie {name!r}, which the portal sets" for name in sorted(declared - named)])


@checks.register(checks.Tags.database)
def policy_names_the_cookies_the_portal_sets(app_configs=None, databases=None, **kwargs):
    """`manage.py check --database default`: the policy in force and any upcoming version, in both languages.
    A warning, not an error: a wrong text is corrected by publishing a new version, which `migrate` must not block."""
    if not databases:
        return []
    from amendments.selectors import policy_in_force, policy_versions_published

    try:
        current = policy_in_force()
        versions = ([current] if current else []) + list(
            policy_versions_published().filter(effective_at__gt=timezone.now()).order_by("effective_at"))
    except DatabaseError:  # not migrated yet: nothing to compare
        return []
    return [
        checks.Warning(f"Policy version {version.label} ({language}): {problem}. Publish a version whose Cookies section "
                       "names exactly the cookies declared in fulfillmen/cookies.py.",
                       obj="fulfillmen.cookies", id="fulfillmen.W002")
        for version in versions for language, text in (("en", version.body_en), ("zh-hans", version.body_zh_hans))
        if text.strip() for problem in policy_cookie_mismatches(text)
    ]


def cookies_page(request):
    return render(request, "cookies.html", {"cookies": declared_cookies()})
