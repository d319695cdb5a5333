"""Signed links e-mailed to requesters besides the address verification (rights/verification.py): the client's
confirmation of an authorised agent (11 CCR §7063) and the appeal of a refusal (VCDPA §59.1-577(C); CPA 6-1-1306).

Like the verification link, nothing is stored for them: a forged or altered token fails the signature, an old one
the age check. A client with an account appeals from the portal instead (its page checks the log-in).
"""

from datetime import date, timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from .verification import VerificationLinkError

AGENT_SALT = "rights.agent-request.confirm"
APPEAL_SALT = "rights.refusal.appeal"


def _read(token: str, *, salt: str, max_age: timedelta) -> dict:
    try:
        payload = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise VerificationLinkError(expired=True) from exc
    except signing.BadSignature as exc:
        raise VerificationLinkError(expired=False) from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("r"), str) or not isinstance(payload.get("e"), str):
        raise VerificationLinkError(expired=False)
    return payload


def agent_confirm_valid_for() -> timedelta:
    return timedelta(days=settings.RIGHTS_AGENT_CONFIRM_DAYS)


def agent_confirm_link(*, request) -> str:
    token = signing.dumps({"r": str(request.public_id), "e": request.requester_email.lower()}, salt=AGENT_SALT)
    return settings.SITE_URL + reverse("rights:agent_confirm", args=[token])


def agent_confirm_token_read(token: str) -> tuple[str, str]:
    """(public_id, the client's e-mail address) from a confirmation token, or VerificationLinkError."""
    payload = _read(token, salt=AGENT_SALT, max_age=agent_confirm_valid_for())
    return payload["r"], payload["e"]


def appeal_window_ends(request) -> date | None:
    """The last day a refused request can be appealed (RIGHTS_APPEAL_WINDOW_DAYS after the refusal)."""
    if request.completed_at is None:
        return None
    return timezone.localdate(request.completed_at) + timedelta(days=settings.RIGHTS_APPEAL_WINDOW_DAYS)


def appeal_link(*, request) -> str:
    """Where the requester appeals: the request's portal page for a client, else a signed link."""
    if request.client_id:
        return settings.SITE_URL + reverse("rights:request_detail", args=[request.public_id])
    token = signing.dumps({"r": str(request.public_id), "e": request.requester_email.lower()}, salt=APPEAL_SALT)
    return settings.SITE_URL + reverse("rights:appeal_by_link", args=[token])


def appeal_token_read(token: str) -> tuple[str, str]:
    # The window is checked by the service against the refusal's date; the token's own age limit only adds slack.
    payload = _read(token, salt=APPEAL_SALT, max_age=timedelta(days=settings.RIGHTS_APPEAL_WINDOW_DAYS + 2))
    return payload["r"], payload["e"]
