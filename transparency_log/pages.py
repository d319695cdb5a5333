"""The public page that explains the consent log to people, at /transparency/log/ (no login)."""

from django.conf import settings
from django.shortcuts import render
from django.urls import reverse

from .checkpoints import latest_checkpoint
from .status import checkpoint_minutes, log_verifier_key


def log_page(request):
    """What the consent log holds (hashes, no personal data), the verifier key, the latest checkpoint, how a client
    checks a downloaded receipt, and the endpoints."""
    return render(request, "transparency_log/log.html", {
        "vkey": log_verifier_key(), "latest": latest_checkpoint(), "checkpoint_minutes": checkpoint_minutes(),
        "log_url": settings.SITE_URL + reverse("consent_log:about")})
