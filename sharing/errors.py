"""One error shape for the whole API: {"error": {"code": "...", "message": "...", "fields": {...}}}."""

import logging

from django.db import DatabaseError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5


def _first_code(detail) -> str | None:
    if isinstance(detail, list) and detail:
        return _first_code(detail[0])
    if isinstance(detail, dict) and detail:
        return _first_code(next(iter(detail.values())))
    return getattr(detail, "code", None)


def api_exception_handler(exc, context):
    if isinstance(exc, DatabaseError):
        # Nothing was sent: the data and its sharing records live or die in one transaction.
        logger.exception("Database unavailable while serving the affiliate API")
        body = {"error": {"code": "temporarily_unavailable",
                          "message": "The service is temporarily unavailable; no data was sent. Try again shortly."}}
        return Response(body, status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, Http404):
        code, message, fields = "not_found", "Not found.", None
    elif isinstance(exc, exceptions.ValidationError):
        code, message = "invalid_parameters", "Some parameters are invalid; see `fields`."
        fields = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
    else:
        detail = getattr(exc, "detail", "")
        code = _first_code(detail) or getattr(exc, "default_code", "error")
        message, fields = str(detail), None
    body = {"error": {"code": code, "message": message}}
    if fields:
        body["error"]["fields"] = fields
    response.data = body
    return response
