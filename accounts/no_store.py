"""No browser or proxy keeps a copy of a page that may carry personal data (issue #16.11).

A response is never stored when the request carried credentials — a logged-in session (client or staff: the
portal, the admin, an export download) or an `Authorization` header (the affiliate API, its errors included) — or
when it answers a form sent by POST (the page may repeat what was typed). It gets Django's never-cache headers
(`Cache-Control: max-age=0, no-cache, no-store, must-revalidate, private`, as the admin already sends) and
`Vary: Cookie` (or `Vary: Authorization`), so that even a cache ignoring no-store keeps one copy per visitor.

A view that sets its own Cache-Control has decided, and is left alone: a public page the same for everyone may
stay cacheable. Anonymous GETs of public pages are not touched either.
"""

from django.utils.cache import add_never_cache_headers, patch_vary_headers

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def _credentials(request, user) -> tuple[str, ...]:
    """The request headers that identify who is asking, for Vary; empty for an anonymous request."""
    if request.headers.get("Authorization"):
        return ("Authorization",)
    if user is not None and user.is_authenticated:
        return ("Cookie",)
    return ()


class PersonalResponsesNotStoredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # The session's user, taken before the view: DRF puts its own caller in request.user (none without a key),
        # and a log-out replaces it. Still lazy: nothing is loaded unless the response needs it.
        user = getattr(request, "user", None)
        response = self.get_response(request)
        if response.has_header("Cache-Control"):
            return response
        credentials = _credentials(request, user)
        if credentials or request.method not in SAFE_METHODS:
            add_never_cache_headers(response)
            patch_vary_headers(response, credentials or ("Cookie",))
        return response
