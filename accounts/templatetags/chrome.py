"""`{% chrome "header" %}` / `{% chrome "footer" %}`: every page's header and footer, rendered once per process for
each language, kind of login (anonymous, client, staff) and current page, then reused.

They show nothing of who is logged in beyond that kind — no name, no e-mail — so one rendering serves everyone
of the same kind. The two things in them that belong to one request are put in after: the CSRF token of the two
forms (log out, language) and the page's own path, which the language form returns to (escaped). Rendering them
cost ~0.5 ms of every page: 20 translations and 12 URL reversals each time (bench/portal_profile.py)."""

from django import template
from django.core.signals import setting_changed
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.urls import get_script_prefix
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

register = template.Library()

PARTS = {"header": "includes/site_header.html", "footer": "includes/site_footer.html"}
CSRF, NEXT = "\ue000csrf\ue000", "\ue000next\ue000"  # private-use characters: never in a translation or URL
_rendered: dict[tuple, str] = {}


def _current(request) -> dict[str, bool]:
    """Which link of the header and footer is the page being shown (aria-current)."""
    match = getattr(request, "resolver_match", None)
    view, app, url_name = (match.view_name, match.app_name, match.url_name or "") if match else ("", "", "")
    return {"dashboard": view == "portal:dashboard", "choices": app == "consent" and "do_not_sell" not in url_name,
            "received": app == "sharing", "data": request.path[:13] == "/portal/data/", "login": view == "login",
            "signup": view == "signup", "do_not_sell": view == "consent:do_not_sell", "policy": view == "policy:current",
            "cookies": view == "cookies", "transparency": view == "transparency:report"}


@register.simple_tag(takes_context=True)
def chrome(context, part: str) -> SafeString:
    request = context.get("request")
    user = context.get("user")
    authenticated = bool(user and user.is_authenticated)
    staff = bool(authenticated and user.is_staff)
    current = _current(request) if request is not None else {}
    language = get_language()
    # The script prefix too: the links carry it, and one request's SCRIPT_NAME must not be every visitor's.
    key = (part, language, authenticated, staff, tuple(sorted(current.items())), get_script_prefix())
    html = _rendered.get(key)
    if html is None:
        html = _rendered[key] = render_to_string(PARTS[part], {
            "authenticated": authenticated, "staff": staff, "current": current, "LANGUAGE_CODE": language,
            "csrf_placeholder": CSRF, "next_placeholder": NEXT})
    if CSRF in html:
        html = html.replace(CSRF, escape(get_token(request)) if request is not None else "")
    if NEXT in html:
        html = html.replace(NEXT, escape(request.get_full_path()) if request is not None else "")
    return mark_safe(html)  # nosec B308 B703  # our own templates' output; the two request values escaped above


def _forget(**_kwargs) -> None:
    _rendered.clear()  # settings a test changes (languages, URLs) render anew


setting_changed.connect(_forget)
