"""Control characters never reach the database (issue #16.12): a 400 for a URL, a message next to a form field.

PostgreSQL refuses NUL in text (a 500 wherever a path or query value was used in a query, e.g. a policy label), and
the other control characters — the C0 and C1 sets and DEL — are never typed by a person: they are terminal escapes
and byte garbage that would end up in the ledger, in CSV exports and in logs.

- `ControlCharactersRefusedMiddleware` answers 400 before any view runs when the path, a query parameter (name or
  value) or a request header holds one; tabs and line breaks are allowed in query values and headers (a GET form
  may carry a text area), never in the path. The API gets its usual JSON error shape.
- `text_fields_refuse_control_characters()` (called from the settings, before any form class is built) gives every
  Django form text field — ours, the admin's and the libraries' — a validator with a message next to the field.
  NUL is left to Django's own ProhibitNullCharactersValidator, so it is not reported twice.

Invalid UTF-8 is no control character: Django decodes it as U+FFFD in queries and percent-encodes it again in paths.
"""

import re

from django.core.exceptions import BadRequest, ValidationError
from django.http import JsonResponse
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

IN_PATH = re.compile(r"[\x00-\x1f\x7f-\x9f]")
IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # tab, line feed and carriage return allowed
IN_FORM_FIELD = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # NUL: Django's own validator


def _refused_part(request) -> str | None:
    if IN_PATH.search(request.path_info):
        return "path"
    for name, values in request.GET.lists():
        if IN_TEXT.search(name) or any(IN_TEXT.search(value) for value in values):
            return "query"
    for name, value in request.META.items():
        if name.startswith("HTTP_") and isinstance(value, str) and IN_TEXT.search(value):
            return "header"
    return None


def _answers_json(path: str) -> bool:
    """The affiliate API and the public consent log's endpoints (not its explanation page) answer errors in JSON."""
    return path.startswith("/api/") or (path.startswith("/transparency/log/") and path != "/transparency/log/")


class ControlCharactersRefusedMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        part = _refused_part(request)
        if part is None:
            return self.get_response(request)
        if _answers_json(request.path_info):
            return JsonResponse({"error": {"code": "invalid_characters",
                                           "message": f"The request's {part} holds control characters."}}, status=400)
        raise BadRequest(f"control characters in the request's {part}")


@deconstructible
class ControlCharactersValidator:
    message = _("Remove the control characters from this text (only tabs and line breaks may be used).")
    code = "control_characters"

    def __call__(self, value):
        if isinstance(value, str) and IN_FORM_FIELD.search(value):
            raise ValidationError(self.message, code=self.code)

    def __eq__(self, other):
        return isinstance(other, ControlCharactersValidator)


def text_fields_refuse_control_characters() -> None:
    """Every forms.CharField built from now on (and every subclass that keeps CharField's default validators) refuses
    control characters. Idempotent."""
    from django import forms

    if not any(isinstance(v, ControlCharactersValidator) for v in forms.CharField.default_validators):
        forms.CharField.default_validators = [*forms.CharField.default_validators, ControlCharactersValidator()]
