"""The public consent log (no login): /transparency/log/checkpoint, key, checkpoints, proof/inclusion, proof/consistency.

Answers are the same for everyone and carry no personal data, so they are cacheable (and leave without cookies): a
published checkpoint or a consistency proof never changes (a year, immutable); the latest checkpoint and inclusion
proofs (whose leaf hash is the ledger's of today) for ten seconds. Errors are JSON in the API's one shape,
{"error": {"code", "message"}}, not stored: 400 or 404 for bad parameters, never a 500.
"""

import logging
import re

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse, JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.views import APIView

from sharing.schema import ErrorResponse

from .checkpoints import latest_checkpoint, log_signer
from .proofs import ProofUnavailable, consistency_answer, inclusion_answer, published
from .tree import TreeRangeError

IMMUTABLE = "public, max-age=31536000, immutable"
LATEST = "public, max-age=10"
logger = logging.getLogger(__name__)
TEXT = "text/plain; charset=utf-8"
_NATURAL = re.compile(r"[0-9]{1,18}")  # ASCII digits only ("١٢" and "+1" are not sizes), below 2**63


def _error(status: int, code: str, message: str) -> JsonResponse:
    response = JsonResponse({"error": {"code": code, "message": message}}, status=status)
    response["Cache-Control"] = "no-store"  # a size not published yet may be published a minute later
    return response


def _natural(request, name: str) -> int:
    value = request.query_params.get(name)
    if value is None:
        raise ProofUnavailable(400, "invalid_parameters", f"{name} is required.")
    if not _NATURAL.fullmatch(value):
        raise ProofUnavailable(400, "invalid_parameters", f"{name} must be a non-negative integer.")
    return int(value)


class LogView(APIView):
    authentication_classes = []
    permission_classes = []

    def handle_exception(self, exc):
        if isinstance(exc, ProofUnavailable):
            return _error(exc.status, exc.code, exc.message)
        if isinstance(exc, ImproperlyConfigured):  # no signing key configured: nothing to verify with yet
            return _error(503, "not_configured", "The consent log has no signing key configured.")
        if isinstance(exc, TreeRangeError):  # published, yet the stored tree cannot prove it: verify_log says why
            logger.error("consent log cannot serve a proof for a published size: %s", exc)
            return _error(500, "log_inconsistent", "The log cannot serve this proof; the operators have been told.")
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        return same_for_everyone(super().finalize_response(request, response, *args, **kwargs))


def same_for_everyone(response):
    """Mark an answer that is the same whoever asks: fulfillmen.cookies sends it without any cookie and without
    `Vary: Cookie`, so that a shared cache never keeps a session or CSRF cookie with it."""
    response.same_for_everyone = True
    return response


def _text(body: str, cache: str) -> HttpResponse:
    response = HttpResponse(body, content_type=TEXT)
    response["Cache-Control"] = cache
    return response


def _json(body: dict, cache: str = IMMUTABLE) -> JsonResponse:
    response = JsonResponse(body)
    response["Cache-Control"] = cache
    return response


_NOTE = OpenApiResponse(OpenApiTypes.STR, description="A C2SP tlog-checkpoint in a signed note (Ed25519).")
_ERRORS = {400: OpenApiResponse(ErrorResponse, description="A parameter is missing, not an integer, or out of range."),
           404: OpenApiResponse(ErrorResponse, description="No checkpoint was published for that tree size.")}
_SIZE = OpenApiParameter("size", int, required=True, description="A tree size for which a checkpoint was published.")


class CheckpointView(LogView):
    @extend_schema(operation_id="log_checkpoint", auth=[], tags=["consent log"], responses={
        (200, "text/plain"): _NOTE, 404: _ERRORS[404]}, summary="The latest signed checkpoint")
    def get(self, request):
        checkpoint = latest_checkpoint()
        if checkpoint is None:
            return _error(404, "not_published", "No checkpoint has been published yet.")
        return _text(checkpoint.note, LATEST)


class KeyView(LogView):
    @extend_schema(operation_id="log_key", auth=[], tags=["consent log"], responses={(200, "text/plain"): OpenApiResponse(
        OpenApiTypes.STR, description="The verifier key, `<name>+<hash>+<base64>` (signed-note vkey).")},
        summary="The key that signs checkpoints")
    def get(self, request):
        return _text(log_signer().vkey + "\n", "public, max-age=3600")


class CheckpointBySizeView(LogView):
    @extend_schema(operation_id="log_checkpoint_by_size", auth=[], tags=["consent log"], parameters=[_SIZE],
                   responses={(200, "text/plain"): _NOTE, **_ERRORS}, summary="The checkpoint published for a size")
    def get(self, request):
        return _text(published(_natural(request, "size")).note, IMMUTABLE)


class InclusionProofView(LogView):
    @extend_schema(operation_id="log_inclusion_proof", auth=[], tags=["consent log"], summary="An inclusion proof",
                   parameters=[OpenApiParameter("index", int, required=True, description="The leaf's index, from 0."),
                               _SIZE],
                   responses={200: OpenApiResponse(description="RFC 9162 audit path, base64 hashes, bottom up.",
                                                   response=OpenApiTypes.OBJECT), **_ERRORS})
    def get(self, request):
        # Not immutable: the leaf hash is that of the ledger's event today, and must show a change at once.
        return _json(inclusion_answer(index=_natural(request, "index"), size=_natural(request, "size")), LATEST)


class ConsistencyProofView(LogView):
    @extend_schema(operation_id="log_consistency_proof", auth=[], tags=["consent log"], summary="A consistency proof",
                   parameters=[OpenApiParameter("from", int, required=True, description="The older published size."),
                               OpenApiParameter("to", int, required=True, description="The newer published size.")],
                   responses={200: OpenApiResponse(description="RFC 9162 consistency proof, base64 hashes.",
                                                   response=OpenApiTypes.OBJECT), **_ERRORS})
    def get(self, request):
        return _json(consistency_answer(old_size=_natural(request, "from"), new_size=_natural(request, "to")))


def verifier_source(request):
    """The standalone verifier, to download and read before running it."""
    source = (settings.BASE_DIR / "tools" / "verify_receipt.py").read_text(encoding="utf-8")
    response = HttpResponse(source, content_type=TEXT)
    response["Content-Disposition"] = 'attachment; filename="verify_receipt.py"'
    response["Cache-Control"] = "public, max-age=3600"
    return same_for_everyone(response)
