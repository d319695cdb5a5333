"""The link that proves a public-form requester reads the mailbox they gave (11 CCR §7060: verify before acting).

The link carries a signed, timestamped token naming the request and the address; it is valid for 48 hours. Nothing
is stored for it: a forged or altered token fails the signature, an old one fails the age check.
"""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

SALT = "rights.public-request.verify-email"
VALID_FOR = timedelta(hours=48)


class VerificationLinkError(Exception):
    """The link cannot be used: `expired` says whether asking again can help (an intact but old link)."""

    def __init__(self, *, expired: bool):
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def verification_token_make(*, request) -> str:
    return signing.dumps({"r": str(request.public_id), "e": request.requester_email.lower()}, salt=SALT)


def verification_token_read(token: str) -> tuple[str, str]:
    """(public_id, e-mail address) from a token, or VerificationLinkError."""
    try:
        payload = signing.loads(token, salt=SALT, max_age=VALID_FOR)
    except signing.SignatureExpired as exc:
        raise VerificationLinkError(expired=True) from exc
    except signing.BadSignature as exc:
        raise VerificationLinkError(expired=False) from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("r"), str) or not isinstance(payload.get("e"), str):
        raise VerificationLinkError(expired=False)
    return payload["r"], payload["e"]


def verification_link(*, request) -> str:
    return settings.SITE_URL + reverse("rights:public_request_verify", args=[verification_token_make(request=request)])
