"""Requests made by an authorised agent for a client (11 CCR §7063; CCPA §1798.135(e)).

The agent gives their own name and address, the client's, and the permission the client signed (a PDF, PNG or JPEG,
checked by its content). The request is the client's: its requester is the client, so every answer (and any copy
of data) goes to the client's address, never to the agent's. Nothing is done until the client confirms by the link
e-mailed to the client's address, and only there: the request waits as "awaiting-client" with its deadline paused
(a `RequestClockPause`, where the rule lets it move the deadline). A refusal, or no answer within
RIGHTS_AGENT_CONFIRM_DAYS, closes it with the reason. Whether the client's address belongs to an account is never
told to the agent: the form answers the same either way.
"""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Client, User
from accounts.uploads import document_upload_check

from .intake import request_acknowledge, request_clock_pause, request_clock_resume, running_pause
from .links import agent_confirm_link, agent_confirm_token_read
from .models import AuthorisedAgent, DataSubjectRequest, RequestClockPause, RequestMessage
from .services import SIGNATURE, _locked, _shown_date, request_close, request_open, request_reference
from .verification import VerificationLinkError

Status, Channel = DataSubjectRequest.Status, DataSubjectRequest.Channel
Decision = AuthorisedAgent.Decision
NOTE = RequestMessage.Direction.NOTE
MAX_PERMISSION_BYTES = 10 * 2**20


def _sha256(upload) -> str:
    from consent.ledger import file_sha256

    return file_sha256(upload)


def _client_language(email: str) -> str:
    """The client's own language when an account uses the address (never told to the agent), else the page's."""
    known = (Client.objects.filter(email__iexact=email, erased_at__isnull=True)
             .values_list("preferred_language", flat=True).first())
    return known or translation.get_language() or "en"


def _confirmation_text(request: DataSubjectRequest, agent: AuthorisedAgent) -> str:
    return _(
        "Hello %(name)s,\n\nOn %(received)s, %(agent)s (%(agent_email)s) told us that you authorised them to make a "
        "request about your personal data for you: %(kind)s. They sent us a permission signed by you.\n\nWe do "
        "nothing until you tell us whether this is right. Open this link within %(days)s days to confirm or to "
        "refuse:\n%(link)s\n\nIf you confirm, we answer you, at this address, not the agent. If you refuse or do not "
        "answer, the request is closed and nothing is done.%(signature)s"
    ) % {"name": request.requester_name, "received": _shown_date(timezone.localdate(request.received_at)),
         "agent": agent.agent_name, "agent_email": agent.agent_email, "kind": request.get_kind_display(),
         "days": settings.RIGHTS_AGENT_CONFIRM_DAYS, "link": agent_confirm_link(request=request), "signature": SIGNATURE}


@transaction.atomic
def agent_request_submit(*, agent_name: str, agent_email: str, client_name: str, client_email: str, kind: str,
                         details: str, permission) -> DataSubjectRequest:
    """An agent's request for a client: recorded with the agent and the signed permission, paused, and the
    confirmation link e-mailed to the client alone (in the client's language when known)."""
    from notify.models import OutboundMessage
    from notify.services import message_queue

    agent_name, agent_email = (agent_name or "").strip(), (agent_email or "").strip()
    client_name, client_email = (client_name or "").strip(), (client_email or "").strip()
    if not agent_name or not client_name:
        raise ValidationError(_("Give your name and the name of the person you act for."))
    if agent_email.lower() == client_email.lower():
        raise ValidationError({"client_email": _("Give the e-mail address of the person you act for, not your own.")})
    if permission is None:
        raise ValidationError({"permission": _("Upload the permission the person you act for signed.")})
    original_name = str(permission.name)[-255:]
    try:
        permission = document_upload_check(permission, max_bytes=MAX_PERMISSION_BYTES)
    except ValidationError as exc:
        raise ValidationError({"permission": exc.messages}) from exc
    language = _client_language(client_email)
    request = request_open(kind=kind, channel=Channel.PUBLIC_FORM, requester_name=client_name,
                           requester_email=client_email, details=(details or "").strip(),
                           status=Status.AWAITING_CLIENT, language=language)
    agent = AuthorisedAgent.objects.create(
        request=request, agent_name=agent_name, agent_email=agent_email, permission_file=permission,
        permission_name=original_name, permission_sha256=_sha256(permission), permission_size=permission.size,
        submitted_at=request.received_at)
    request_clock_pause(request=request, reason=RequestClockPause.Reason.AGENT_CONFIRMATION, at=request.received_at)
    RequestMessage.objects.create(request=request, direction=NOTE, body=_(
        "Made by an authorised agent, %(agent)s <%(email)s>, with a signed permission; waiting for the client to "
        "confirm by the link e-mailed to the client's address.") % {"agent": agent_name, "email": agent_email})
    with translation.override(language):
        # The link is a credential: the body is wiped once sent, and it is not kept on the thread.
        message_queue(channel=OutboundMessage.Channel.EMAIL, kind="dsr-agent-confirm", to=client_email,
                      subject=_("Did you authorise someone to make a privacy request for you? [%(reference)s]")
                      % {"reference": request_reference(request)},
                      body=_confirmation_text(request, agent), idempotency_key=f"dsr-agent-confirm:{request.public_id}",
                      wipe_body_after_send=True)
    return request


def agent_request_for_token(token: str) -> DataSubjectRequest:
    """The request a confirmation link names (for the page that asks the client), or VerificationLinkError."""
    public_id, email = agent_confirm_token_read(token)
    request = (DataSubjectRequest.objects.select_related("agent").filter(public_id=public_id, agent__isnull=False)
               .first())
    if request is None or request.requester_email.lower() != email:
        raise VerificationLinkError(expired=False)
    return request


def _pause_end(request: DataSubjectRequest, *, note: str, at) -> DataSubjectRequest:
    if running_pause(request) is not None:
        request_clock_resume(request=request, note=note, at=at)
    return _locked(request)


@transaction.atomic
def agent_request_answer(*, token: str, confirmed: bool) -> tuple[DataSubjectRequest, bool]:
    """The client confirms the agent (the request opens: due from receipt plus the pause, acknowledged to the
    client) or refuses (closed with the reason). Returns (request, answered_now); a second answer changes nothing."""
    found = agent_request_for_token(token)
    locked = _locked(found)
    agent = AuthorisedAgent.objects.select_for_update().get(request=locked)
    if agent.decision != Decision.PENDING or locked.status != Status.AWAITING_CLIENT:
        return locked, False
    now = timezone.now()
    agent.decision, agent.decided_at = (Decision.CONFIRMED if confirmed else Decision.REFUSED), now
    agent.save(update_fields=["decision", "decided_at"])
    if not confirmed:
        locked = _pause_end(locked, note=_("The client refused the authorised agent."), at=now)
        return request_close(request=locked, status=Status.CANCELLED, outcome=_(
            "Closed without action: the client said they did not authorise the agent to make this request.")), True
    locked = _pause_end(locked, note=_("The client confirmed the authorised agent's permission."), at=now)
    locked.email_verified_at, locked.status = now, Status.OPEN
    locked.save(update_fields=["email_verified_at", "status"])
    RequestMessage.objects.create(request=locked, direction=NOTE, body=_(
        "The client confirmed that the agent acts for them; answers go to the client's address."))
    request_acknowledge(request=locked)
    return locked, True


@transaction.atomic
def _agent_request_expire(request: DataSubjectRequest, *, now) -> bool:
    locked = _locked(request)
    agent = AuthorisedAgent.objects.select_for_update().get(request=locked)
    if locked.status != Status.AWAITING_CLIENT or agent.decision != Decision.PENDING:
        return False
    agent.decision, agent.decided_at = Decision.EXPIRED, now
    agent.save(update_fields=["decision", "decided_at"])
    locked = _pause_end(locked, note=_("The client did not confirm the authorised agent in time."), at=now)
    request_close(request=locked, status=Status.CANCELLED, outcome=_(
        "Closed without action: the client did not confirm within %(days)s days that the agent acts for them.")
        % {"days": settings.RIGHTS_AGENT_CONFIRM_DAYS})
    return True


def agent_requests_expire(*, now=None) -> int:
    """Hourly (beat): close the agents' requests their clients did not confirm within RIGHTS_AGENT_CONFIRM_DAYS.
    Each in its own transaction; safe to run twice."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.RIGHTS_AGENT_CONFIRM_DAYS)
    stale = DataSubjectRequest.objects.filter(status=Status.AWAITING_CLIENT, received_at__lt=cutoff).order_by("pk")
    return sum(_agent_request_expire(request, now=now) for request in stale)


@transaction.atomic
def agent_permission_download_record(*, request: DataSubjectRequest, actor: User) -> AuthorisedAgent:
    """A staff member opens the signed permission: kept on the request's thread (the admin adds the access log)."""
    RequestMessage.objects.create(request=request, direction=NOTE, author=actor,
                                  body=_("Downloaded the authorised agent's signed permission."))
    return request.agent
