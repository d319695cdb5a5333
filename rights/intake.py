"""How a request comes in: entered by staff (e-mail, letter, phone), asked in the portal, or sent through the public
form; the acknowledgement of its receipt; and the verification pauses of its deadline.

The deadline counts from receipt (11 CCR §7021(b); GDPR Art. 12(3)). While the requester's identity is verified the
clock stops where the jurisdiction's rule allows it (`ResponseDeadlineRule.verification_pauses_clock`: not under the
CCPA), and every stop is a `RequestClockPause` row with its start and end: the evidence of why the due date moved.
Receipt is confirmed by e-mail, once, with what was received, when, the due date and how the request is verified
(11 CCR §7021(a): within 10 business days; GDPR Art. 12(3)).
"""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Client, User

from .deadlines import rule_for
from .models import DataSubjectRequest, RequestClockPause, RequestMessage
from .services import (
    CLOSED,
    SIGNATURE,
    _email_send,
    _language,
    _locked,
    _shown_date,
    request_address,
    request_open,
    request_reference,
)
from .verification import VerificationLinkError, verification_link, verification_token_read

Kind, Channel, Status = DataSubjectRequest.Kind, DataSubjectRequest.Channel, DataSubjectRequest.Status
Reason = RequestClockPause.Reason
STAFF_CHANNELS = (Channel.EMAIL, Channel.LETTER, Channel.PHONE)
# Opt-outs need no verification (11 CCR §7026(d)): an objection to direct marketing opens at once.
NO_VERIFICATION_KINDS = {Kind.OBJECTION}


def _pauses_clock(request: DataSubjectRequest) -> bool:
    rule = rule_for(request.jurisdiction)
    return rule is None or rule.verification_pauses_clock


def _verification_text(request: DataSubjectRequest) -> str:
    """How the request is verified, in general terms (11 CCR §7021(a)); call under the requester's language."""
    if request.kind in NO_VERIFICATION_KINDS:
        return _("An objection to direct marketing needs no proof of identity: we act on it as it is.")
    if request.client_id:
        return _("It is linked to your Fulfillmen account: we act only on that account's data and write only to the "
                 "account's e-mail address.")
    if request.email_verified_at:
        text = _("You confirmed your e-mail address on %(date)s. Before we give out or change the data of an account, "
                 "we check that the account is yours, for example by asking you to log in or for details only the "
                 "account holder knows.") % {"date": _shown_date(timezone.localdate(request.email_verified_at))}
    else:
        text = _("Before we act on it, we check that it comes from you, for example by asking for details only you "
                 "and we know (an order number, the phone number of your account). We never ask for your password.")
    if _pauses_clock(request):
        text += " " + _("While we wait for such details, the time to answer is paused, as the law allows; we tell "
                        "you the new date.")
    return text


def request_acknowledge(*, request: DataSubjectRequest) -> RequestMessage | None:
    """Confirm receipt, exactly once: what was received, when, the due date and how it is verified (call inside a
    transaction). Returns the message on the thread, or None when receipt was already confirmed."""
    locked = _locked(request)
    if locked.acknowledged_at is not None:
        return None
    with translation.override(_language(locked)):
        text = _("We received your request on %(received)s (%(channel)s): %(kind)s.\n\nWe will answer by %(due)s at "
                 "the latest.\n\nHow we verify it: %(verification)s") % {
            "received": _shown_date(timezone.localdate(locked.received_at)), "channel": locked.get_channel_display(),
            "kind": locked.get_kind_display(), "due": _shown_date(locked.effective_due_on),
            "verification": _verification_text(locked)}
        message = _email_send(request=locked, kind="dsr-acknowledgement", subject=_("We received your privacy request"),
                              text=text, actor=None, idempotency_key=f"dsr-acknowledgement:{locked.public_id}")
    request.acknowledged_at = locked.acknowledged_at = timezone.now()
    locked.save(update_fields=["acknowledged_at"])
    return message


# --- Verification pauses of the deadline ----------------------------------------------------------------------------


def running_pause(request: DataSubjectRequest) -> RequestClockPause | None:
    return request.pauses.filter(ended_at__isnull=True).first()


@transaction.atomic
def request_clock_pause(*, request: DataSubjectRequest, reason: str, note: str = "", actor: User | None = None,
                        at=None) -> RequestClockPause:
    """Stop the deadline while the requester's identity is verified. Under a rule that does not allow it the stop is
    still logged (what was asked, when) but the deadline keeps running."""
    locked = _locked(request)
    at = at or timezone.now()
    if locked.status in CLOSED or locked.status == Status.SCHEDULED:
        raise ValidationError(_("This request is “%(status)s”: its deadline cannot be paused.")
                              % {"status": locked.get_status_display()})
    if running_pause(locked) is not None:
        raise ValidationError(_("The deadline is already paused for verification."))
    if reason == Reason.IDENTITY_VERIFICATION and not (note or "").strip():
        raise ValidationError({"note": _("Say what you asked the requester for.")})
    if timezone.localdate(at) > locked.effective_due_on:
        raise ValidationError(_("The due date (%(due)s) has passed: the deadline can no longer be paused.")
                              % {"due": _shown_date(locked.effective_due_on)})
    moves = _pauses_clock(locked)
    pause = RequestClockPause.objects.create(request=locked, reason=reason, note=(note or "").strip(), started_at=at,
                                             started_by=actor, moves_deadline=moves)
    if moves:
        locked.clock_paused_since = at
        locked.save(update_fields=["clock_paused_since"])
    body = (_("Deadline paused while the requester's identity is verified.") if moves else
            _("Verification started; under this request's law the deadline keeps running."))
    RequestMessage.objects.create(request=locked, direction=RequestMessage.Direction.NOTE, author=actor,
                                  body=f"{body} {pause.note}".strip())
    request.clock_paused_since = locked.clock_paused_since
    return pause


@transaction.atomic
def request_clock_resume(*, request: DataSubjectRequest, note: str = "", actor: User | None = None,
                         at=None) -> RequestClockPause:
    """The identity is verified: the pause ends and the due date (and an extension) move on by its whole days."""
    locked = _locked(request)
    pause = locked.pauses.select_for_update().filter(ended_at__isnull=True).first()
    if pause is None:
        raise ValidationError(_("The deadline of this request is not paused."))
    at = at or timezone.now()
    days = max(0, (timezone.localdate(at) - timezone.localdate(pause.started_at)).days) if pause.moves_deadline else 0
    pause.ended_at, pause.ended_by, pause.days_added = at, actor, days
    if (note or "").strip():
        pause.note = f"{pause.note}\n{note.strip()}".strip()
    pause.save(update_fields=["ended_at", "ended_by", "days_added", "note"])
    locked.due_on += timedelta(days=days)
    if locked.extended_to:
        locked.extended_to += timedelta(days=days)
    locked.clock_paused_since = None
    locked.save(update_fields=["due_on", "extended_to", "clock_paused_since"])
    RequestMessage.objects.create(request=locked, direction=RequestMessage.Direction.NOTE, author=actor, body=_(
        "Identity verified; the deadline runs again: %(days)s day(s) added, due %(due)s.") % {
        "days": days, "due": _shown_date(locked.effective_due_on)})
    request.due_on, request.extended_to, request.clock_paused_since = locked.due_on, locked.extended_to, None
    return pause


@transaction.atomic
def request_identity_verified(*, request: DataSubjectRequest, note: str, actor: User) -> DataSubjectRequest:
    """Staff verified a requester's identity: the pause ends and the requester is told the due date."""
    if not (note or "").strip():
        raise ValidationError({"note": _("Say how the identity was verified.")})
    request_clock_resume(request=request, note=note, actor=actor)
    locked = _locked(request)
    if request_address(locked):
        with translation.override(_language(locked)):
            text = _("We have verified that the request comes from you. We will answer by %(due)s at the latest.") % {
                "due": _shown_date(locked.effective_due_on)}
            _email_send(request=locked, kind="dsr-verified", subject=_("Your privacy request: identity verified"),
                        text=text, actor=actor)
    return locked


# --- How requests come in -------------------------------------------------------------------------------------------


@transaction.atomic
def request_record_by_staff(*, kind: str, channel: str, client: Client | None = None, requester_name: str = "",
                            requester_email: str = "", details: str = "", received_at=None,
                            language: str = "") -> DataSubjectRequest:
    """A request received by e-mail, letter or phone: due from its receipt, and acknowledged to the requester."""
    if channel not in STAFF_CHANNELS:
        raise ValidationError({"channel": _("Staff record requests received by e-mail, letter or phone.")})
    request = request_open(kind=kind, channel=channel, client=client, requester_name=requester_name,
                           requester_email=requester_email, details=details, received_at=received_at,
                           language="" if client else language)
    if request_address(request):
        request_acknowledge(request=request)
    return request


@transaction.atomic
def client_question_ask(*, client: Client, subject: str, body: str) -> DataSubjectRequest:
    """A logged-in client's question (the policy's "contact us"): a request of kind question, acknowledged by e-mail."""
    subject, body = (subject or "").strip(), (body or "").strip()
    if not body:
        raise ValidationError({"body": _("Write your question.")})
    request = request_open(kind=Kind.QUESTION, channel=Channel.PORTAL, client=client,
                           details=f"{subject}\n\n{body}" if subject else body)
    if request_address(request):
        request_acknowledge(request=request)
    return request


@transaction.atomic
def public_request_submit(*, name: str, email: str, kind: str, details: str) -> DataSubjectRequest:
    """A request from someone without an account: queued as unverified, its deadline paused from receipt until the
    link e-mailed to them is followed (11 CCR §7060: verify before acting). The e-mail confirms receipt and says how
    it is verified; the acknowledgement with the due date follows the confirmation.

    Whether the address belongs to a client is for staff to judge; nothing is matched automatically. An objection to
    direct marketing needs no verification: it opens at once and is acknowledged.
    """
    from notify.models import OutboundMessage
    from notify.services import message_queue

    opens_now = kind in NO_VERIFICATION_KINDS
    request = request_open(kind=kind, channel=Channel.PUBLIC_FORM, requester_name=name.strip(),
                           requester_email=email.strip(), details=details.strip(),
                           status=Status.OPEN if opens_now else Status.UNVERIFIED,
                           language=translation.get_language() or "en")
    if opens_now:
        request_acknowledge(request=request)
        return request
    request_clock_pause(request=request, reason=Reason.EMAIL_VERIFICATION, at=request.received_at)
    clock = (_("Until you confirm, the time we have to answer is paused.") if _pauses_clock(request) else
             _("The time we have to answer counts from the day we received the request."))
    text = _(
        "Hello %(name)s,\n\nOn %(received)s we received a request made with this e-mail address, about personal data: "
        "%(kind)s.\n\nTo confirm that you made this request and that this is your e-mail address, open this link "
        "within 48 hours:\n%(link)s\n\n%(clock)s Once you confirm, we tell you the date by which we will answer. If "
        "you did not make this request, ignore this e-mail: nothing will happen.%(signature)s"
    ) % {"name": request.requester_name, "received": _shown_date(timezone.localdate(request.received_at)),
         "kind": request.get_kind_display(), "link": verification_link(request=request), "clock": clock,
         "signature": SIGNATURE}
    # The link is a credential: the body is wiped once sent, and it is not kept on the thread.
    message_queue(channel=OutboundMessage.Channel.EMAIL, kind="dsr-verify-email", to=request.requester_email,
                  subject=_("Confirm your privacy request [%(reference)s]") % {"reference": request_reference(request)},
                  body=text, idempotency_key=f"dsr-verify-email:{request.public_id}", wipe_body_after_send=True)
    return request


@transaction.atomic
def public_request_verify(*, token: str) -> tuple[DataSubjectRequest, bool]:
    """Follow the e-mailed link: the address is verified, the request opens, the deadline's pause ends (the due date
    counts from receipt plus the pause) and receipt is acknowledged with the due date.

    Returns (request, verified_now); a second visit changes nothing.
    """
    public_id, email = verification_token_read(token)
    locked = (DataSubjectRequest.objects.select_for_update(of=("self",)).select_related("client")
              .filter(public_id=public_id, channel=Channel.PUBLIC_FORM).first())
    if locked is None or locked.requester_email.lower() != email:
        raise VerificationLinkError(expired=False)
    if locked.status != Status.UNVERIFIED:
        return locked, False
    now = timezone.now()
    if running_pause(locked) is not None:
        request_clock_resume(request=locked, at=now)
        locked = _locked(locked)
    locked.email_verified_at, locked.status = now, Status.OPEN
    locked.save(update_fields=["email_verified_at", "status"])
    request_acknowledge(request=locked)
    return locked, True

