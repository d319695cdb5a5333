"""The request queue: opening a request with its due date, assigning, extending, answering by e-mail, closing.

Every e-mail to the requester is a delivery row (notify) and an outgoing message on the request's thread, written in
the same transaction as the change it announces: the thread is the evidence of what the requester was told and when.
Requests are never deleted here: the request log is kept at least 24 months (11 CCR §7101).
"""

from datetime import date

from dateutil.relativedelta import relativedelta
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import formats, timezone, translation
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from accounts.jurisdictions import Jurisdiction
from accounts.models import Client, User
from accounts.roles import LEGAL_GROUP

from .deadlines import due_date_for
from .models import DataSubjectRequest, LegalHold, RequestMessage, ResponseDeadlineRule
from .verification import VerificationLinkError, verification_link, verification_token_read

Status = DataSubjectRequest.Status
Direction = RequestMessage.Direction
CLOSED = {Status.COMPLETED, Status.REFUSED, Status.CANCELLED}
AWAITING = {Status.OPEN, Status.IN_PROGRESS}  # what the deadline runs for: overdue / due-this-week markers
WORK_PERMISSION = "rights.change_datasubjectrequest"
SIGNATURE = lazy(lambda: "\n\n-- \n" + gettext("Fulfillmen privacy team · privacy@fulfillmen.com"), str)()


def request_reference(request: DataSubjectRequest) -> str:
    """The short reference the requester sees in e-mails; the admin's search finds a request by it."""
    return str(request.public_id)[:8].upper()


def _shown_date(value: date) -> str:
    return formats.date_format(value, "DATE_FORMAT")


def _locked(request: DataSubjectRequest) -> DataSubjectRequest:
    return DataSubjectRequest.objects.select_for_update(of=("self",)).select_related("client").get(pk=request.pk)


@transaction.atomic
def request_open(*, kind: str, channel: str, client: Client | None = None, requester_name: str = "",
                 requester_email: str = "", details: str = "", status: str = Status.OPEN,
                 received_at=None) -> DataSubjectRequest:
    """Enter a request in the queue, due by the client's jurisdiction's rule (the default rule without a client)."""
    if kind not in DataSubjectRequest.Kind.values:
        raise ValidationError({"kind": _("Choose what kind of request this is.")})
    if client is None and not requester_email:
        raise ValidationError({"requester_email": _("A request needs a client or an e-mail address to answer.")})
    received_at = received_at or timezone.now()
    jurisdiction = client.jurisdiction if client else Jurisdiction.OTHER
    request = DataSubjectRequest(
        kind=kind, channel=channel, client=client, requester_name=requester_name, requester_email=requester_email,
        details=details, received_at=received_at, jurisdiction=jurisdiction, status=status,
        due_on=due_date_for(jurisdiction=jurisdiction, received=timezone.localdate(received_at)))
    request.full_clean(exclude=["assignee"])
    request.save()
    if details:
        RequestMessage.objects.create(request=request, direction=Direction.INCOMING, body=details)
    return request


# --- E-mail to the requester --------------------------------------------------------------------------------------


def request_address(request: DataSubjectRequest) -> str:
    """Where answers go: the client's current address, else the address the requester gave."""
    if request.client_id and request.client.email and not request.client.erased_at:
        return request.client.email
    return request.requester_email


def _language(request: DataSubjectRequest) -> str:
    return request.client.preferred_language if request.client_id else translation.get_language() or "en"


def _requester_name(request: DataSubjectRequest) -> str:
    return (request.client.full_name if request.client_id and not request.client.erased_at else "") or request.requester_name


def _email_send(*, request: DataSubjectRequest, kind: str, subject: str, text: str, actor: User | None) -> RequestMessage:
    """Queue an e-mail to the requester and keep it on the thread, linked to its delivery row (call inside a transaction).

    `subject` and `text` are built under the requester's language by the caller; greeting and signature are added here.
    """
    from notify.models import OutboundMessage
    from notify.services import message_queue

    to = request_address(request)
    if not to:
        raise ValidationError(_("There is no e-mail address to write to: the client's data was erased."))
    if request.status == Status.UNVERIFIED:
        raise ValidationError(_("The requester has not verified their e-mail address yet; nothing is sent to it but "
                                "the verification link."))
    with translation.override(_language(request)):
        name = _requester_name(request)
        greeting = _("Hello %(name)s,") % {"name": name} if name else _("Hello,")
        footer = _("Reference of your request: %(reference)s. Reply to this e-mail if you have questions.") % {
            "reference": request_reference(request)}
        body = f"{greeting}\n\n{text.strip()}\n\n{footer}{SIGNATURE}"
        full_subject = f"{subject} [{request_reference(request)}]"
    message = RequestMessage.objects.create(request=request, direction=Direction.OUTGOING, author=actor, body=body)
    message.delivery = message_queue(channel=OutboundMessage.Channel.EMAIL, kind=kind, client=request.client, to=to,
                                     subject=full_subject, body=body, idempotency_key=f"{kind}:{message.pk}")
    message.save(update_fields=["delivery"])
    return message


def request_acknowledge(*, request: DataSubjectRequest) -> RequestMessage:
    """Confirm receipt with the due date (CCPA: within 10 business days, 11 CCR §7021(a)); call inside a transaction."""
    with translation.override(_language(request)):
        text = _("We received your request (%(kind)s) on %(received)s. We will answer by %(due)s at the latest.") % {
            "kind": request.get_kind_display(), "received": _shown_date(timezone.localdate(request.received_at)),
            "due": _shown_date(request.effective_due_on)}
        return _email_send(request=request, kind="dsr-acknowledgement", subject=_("We received your privacy request"),
                           text=text, actor=None)


# --- Staff work on a request --------------------------------------------------------------------------------------


def staff_can_work(user: User | None) -> bool:
    return bool(user and user.is_active and user.is_staff and user.has_perm(WORK_PERMISSION))


@transaction.atomic
def request_assign(*, request: DataSubjectRequest, assignee: User | None, actor: User) -> DataSubjectRequest:
    """Give the request to a staff member who may work it (or to nobody); an open request is then in progress."""
    locked = _locked(request)
    if locked.status in CLOSED:
        raise ValidationError(_("This request is closed; it cannot be assigned."))
    if assignee is not None and not staff_can_work(assignee):
        raise ValidationError({"assignee": _("%(user)s may not work on requests.") % {"user": assignee}})
    if locked.assignee_id == (assignee.pk if assignee else None):
        return locked
    locked.assignee = assignee
    fields = ["assignee"]
    if assignee is not None and locked.status == Status.OPEN:
        locked.status = Status.IN_PROGRESS
        fields.append("status")
    locked.save(update_fields=fields)
    note = _("Assigned to %(user)s.") % {"user": assignee} if assignee else _("No longer assigned to anyone.")
    RequestMessage.objects.create(request=locked, direction=Direction.NOTE, author=actor, body=note)
    return locked


@transaction.atomic
def request_note(*, request: DataSubjectRequest, body: str, actor: User) -> RequestMessage:
    """An internal note on the thread; never sent, never edited."""
    if not (body or "").strip():
        raise ValidationError({"body": _("Write the note.")})
    return RequestMessage.objects.create(request=request, direction=Direction.NOTE, author=actor, body=body.strip())


@transaction.atomic
def request_reply(*, request: DataSubjectRequest, body: str, actor: User) -> RequestMessage:
    """Answer the requester by e-mail; the answer stays on the thread with its delivery row (the policy's "contact us")."""
    if not (body or "").strip():
        raise ValidationError({"body": _("Write the answer.")})
    locked = _locked(request)
    with translation.override(_language(locked)):
        subject = _("Answer to your privacy request")
    message = _email_send(request=locked, kind="dsr-reply", subject=subject, text=body, actor=actor)
    if locked.status == Status.OPEN:
        locked.status = Status.IN_PROGRESS
        locked.save(update_fields=["status"])
    return message


def extension_limit_for(request: DataSubjectRequest) -> date:
    """The latest date the law lets this request be extended to: its rule's maximum, counted from the due date.

    Counting from the due date (not the received date) never goes past the law: GDPR's "two further months" from
    31 January ends on 28 April here, two days early at most.
    """
    rules = {rule.jurisdiction: rule for rule in ResponseDeadlineRule.objects.filter(
        jurisdiction__in=[request.jurisdiction, Jurisdiction.OTHER])}
    rule = rules.get(request.jurisdiction) or rules.get(Jurisdiction.OTHER)
    if rule is None:
        return request.due_on
    return request.due_on + relativedelta(months=rule.extension_months, days=rule.extension_days)


@transaction.atomic
def request_extend(*, request: DataSubjectRequest, until: date, reason: str, actor: User) -> DataSubjectRequest:
    """Take longer, within the law, and tell the requester why and until when (GDPR Art. 12(3); 11 CCR §7021(b)).

    The notice must reach the requester within the first period, so an extension after the original due date is
    refused; several extensions are possible as long as together they stay within the maximum.
    """
    locked = _locked(request)
    reason = (reason or "").strip()
    if locked.status not in AWAITING:
        raise ValidationError(_("Only an open request can be extended (this one is “%(status)s”).")
                              % {"status": locked.get_status_display()})
    if not reason:
        raise ValidationError({"reason": _("Say why more time is needed; the requester is told.")})
    if timezone.localdate() > locked.due_on:
        raise ValidationError({"until": _(
            "The original due date (%(due)s) has passed: an extension must be announced before it.")
            % {"due": _shown_date(locked.due_on)}})
    if until <= locked.effective_due_on:
        raise ValidationError({"until": _("Choose a date after the current due date (%(due)s).")
                               % {"due": _shown_date(locked.effective_due_on)}})
    limit = extension_limit_for(locked)
    if until > limit:
        raise ValidationError({"until": _("The law allows an extension until %(limit)s at the latest for this request.")
                               % {"limit": _shown_date(limit)}})
    locked.extended_to, locked.extension_reason = until, reason
    locked.save(update_fields=["extended_to", "extension_reason"])
    with translation.override(_language(locked)):
        text = _("We need more time to answer your request (%(kind)s). We will answer by %(until)s at the latest.\n\n"
                 "Why: %(reason)s") % {"kind": locked.get_kind_display(), "until": _shown_date(until), "reason": reason}
        subject = _("More time is needed for your privacy request")
    _email_send(request=locked, kind="dsr-extension", subject=subject, text=text, actor=actor)
    return locked


def _closing_text(request: DataSubjectRequest) -> tuple[str, str]:
    if request.status == Status.REFUSED:
        text = _(
            "We cannot do what you asked (%(kind)s).\n\nWhy: %(reason)s\n\nIf you disagree, reply to this e-mail. You "
            "also have the right to lodge a complaint with a data-protection supervisory authority (in the EU or the "
            "UK, the one where you live or work) and to seek a judicial remedy.")
        return _("Your privacy request was refused"), text % {"kind": request.get_kind_display(),
                                                              "reason": request.refusal_reason}
    if request.status == Status.COMPLETED:
        text = _("Your request (%(kind)s) is complete.") % {"kind": request.get_kind_display()}
        return _("Your privacy request is complete"), f"{text}\n\n{request.outcome}".strip()
    text = _("Your request (%(kind)s) was closed without further action.") % {"kind": request.get_kind_display()}
    return _("Your privacy request was closed"), f"{text}\n\n{request.outcome}".strip()


@transaction.atomic
def request_close(*, request: DataSubjectRequest, status: str, outcome: str = "", refusal_reason: str = "",
                  actor: User | None = None, notify_client: bool = False) -> DataSubjectRequest:
    """Close with the outcome kept in the request log (11 CCR §7101).

    A refusal is always e-mailed with its reason and the right to complain (GDPR Art. 12(4); PIPL Art. 50); a
    completion or cancellation only with `notify_client` (an export or erasure sends its own message). Nothing is
    sent to an address that was never verified.
    """
    locked = _locked(request)
    if locked.status in CLOSED:
        raise ValidationError(_("This request is already closed (%(status)s).") % {"status": locked.get_status_display()})
    if status not in CLOSED:
        raise ValidationError(_("A request closes as completed, refused or cancelled."))
    if status == Status.REFUSED and not refusal_reason.strip():
        raise ValidationError({"refusal_reason": _("Say why the request is refused; the client is told.")})
    was_verified = locked.status != Status.UNVERIFIED
    locked.status, locked.outcome, locked.refusal_reason = status, outcome.strip(), refusal_reason.strip()
    locked.completed_at = timezone.now()
    locked.save(update_fields=["status", "outcome", "refusal_reason", "completed_at"])
    if was_verified and request_address(locked) and (status == Status.REFUSED or notify_client):
        with translation.override(_language(locked)):
            subject, text = _closing_text(locked)
        _email_send(request=locked, kind=f"dsr-{status}", subject=subject, text=text, actor=actor)
    return locked


# --- Questions ("contact us") and the public form ------------------------------------------------------------------


@transaction.atomic
def client_question_ask(*, client: Client, subject: str, body: str) -> DataSubjectRequest:
    """A logged-in client's question (the policy's "contact us"): a request of kind question, acknowledged by e-mail."""
    subject, body = (subject or "").strip(), (body or "").strip()
    if not body:
        raise ValidationError({"body": _("Write your question.")})
    request = request_open(kind=DataSubjectRequest.Kind.QUESTION, channel=DataSubjectRequest.Channel.PORTAL,
                           client=client, details=f"{subject}\n\n{body}" if subject else body)
    if request_address(request):
        request_acknowledge(request=request)
    return request


# Opt-outs need no verification (11 CCR §7026(d)): an objection to direct marketing opens at once.
NO_VERIFICATION_KINDS = {DataSubjectRequest.Kind.OBJECTION}


@transaction.atomic
def public_request_submit(*, name: str, email: str, kind: str, details: str) -> DataSubjectRequest:
    """A request from someone without an account: queued as unverified until the link e-mailed to them is followed.

    Whether the address belongs to a client is for staff to judge (11 CCR §7060); nothing is matched automatically.
    An objection to direct marketing needs no verification: it opens at once and is acknowledged.
    """
    from notify.models import OutboundMessage
    from notify.services import message_queue

    opens_now = kind in NO_VERIFICATION_KINDS
    request = request_open(kind=kind, channel=DataSubjectRequest.Channel.PUBLIC_FORM, requester_name=name.strip(),
                           requester_email=email.strip(), details=details.strip(),
                           status=Status.OPEN if opens_now else Status.UNVERIFIED)
    if opens_now:
        request_acknowledge(request=request)
        return request
    text = _(
        "Hello %(name)s,\n\nSomeone — we hope you — asked Fulfillmen for the following about your personal data: "
        "%(kind)s.\n\nTo confirm that you made this request and that this is your e-mail address, open this link "
        "within 48 hours:\n%(link)s\n\nWe start counting the time to answer from your confirmation. If you did not "
        "make this request, ignore this e-mail: nothing will happen.%(signature)s"
    ) % {"name": request.requester_name, "kind": request.get_kind_display(), "link": verification_link(request=request),
         "signature": SIGNATURE}
    # The link is a credential: the body is wiped once sent, and it is not kept on the thread.
    message_queue(channel=OutboundMessage.Channel.EMAIL, kind="dsr-verify-email", to=request.requester_email,
                  subject=_("Confirm your privacy request [%(reference)s]") % {"reference": request_reference(request)},
                  body=text, idempotency_key=f"dsr-verify-email:{request.public_id}", wipe_body_after_send=True)
    return request


@transaction.atomic
def public_request_verify(*, token: str) -> tuple[DataSubjectRequest, bool]:
    """Follow the e-mailed link: the address is verified and the request opens, due from today.

    Returns (request, verified_now); a second visit changes nothing. The due date counts from the verification, not
    from the form: until then nobody knew the request came from the address's owner.
    """
    public_id, email = verification_token_read(token)
    locked = (DataSubjectRequest.objects.select_for_update(of=("self",)).select_related("client")
              .filter(public_id=public_id, channel=DataSubjectRequest.Channel.PUBLIC_FORM).first())
    if locked is None or locked.requester_email.lower() != email:
        raise VerificationLinkError(expired=False)
    if locked.status != Status.UNVERIFIED:
        return locked, False
    now = timezone.now()
    locked.email_verified_at, locked.status = now, Status.OPEN
    locked.due_on = due_date_for(jurisdiction=locked.jurisdiction, received=timezone.localdate(now))
    locked.save(update_fields=["email_verified_at", "status", "due_on"])
    request_acknowledge(request=locked)
    return locked, True


def client_with_email_exists(*, email: str) -> bool:
    """For staff only: whether a client account uses this address (shown, never linked automatically)."""
    return bool(email) and Client.objects.filter(email__iexact=email, erased_at__isnull=True).exists()


# --- Legal holds and deadline rules -------------------------------------------------------------------------------


@transaction.atomic
def legal_hold_set(*, client: Client, reason: str, keep_until: date | None, actor: User) -> LegalHold:
    """Keep a client's data for a legal obligation or claim (GDPR Art. 17(3)(b),(e); CCPA §1798.145): erasure waits.

    An empty reason shows the client the standard legal-obligation wording (rights.holds.LEGAL_OBLIGATION_REASON)."""
    if keep_until is not None and keep_until < timezone.localdate():
        raise ValidationError({"keep_until": _("This date has passed.")})
    hold = LegalHold(client=client, reason=(reason or "").strip(), keep_until=keep_until, set_by=actor)
    hold.full_clean()
    hold.save()
    return hold


def legal_hold_may_release(*, hold: LegalHold, actor: User) -> bool:
    """A hold set by a member of Legal is released by Legal (or a superuser); any other by who may change holds."""
    if actor.is_superuser or not hold.set_by.groups.filter(name=LEGAL_GROUP).exists():
        return True
    return actor.groups.filter(name=LEGAL_GROUP).exists()


@transaction.atomic
def legal_hold_release(*, hold: LegalHold, reason: str, actor: User) -> LegalHold:
    locked = LegalHold.objects.select_for_update().get(pk=hold.pk)
    if not legal_hold_may_release(hold=locked, actor=actor):
        raise PermissionDenied(_("A hold set by Legal is released by Legal."))
    if locked.released_at is not None:
        raise ValidationError(_("This hold was already released."))
    if locked.disclosure_id is not None:
        raise ValidationError(_("This hold ends when the disclosure request it comes from is closed."))
    if not (reason or "").strip():
        raise ValidationError({"release_reason": _("Say why the hold ends.")})
    locked.released_by, locked.released_at, locked.release_reason = actor, timezone.now(), reason.strip()
    locked.save(update_fields=["released_by", "released_at", "release_reason"])
    return locked


@transaction.atomic
def deadline_rule_save(*, rule: ResponseDeadlineRule) -> ResponseDeadlineRule:
    """A changed rule applies to requests received from now on; due dates already set do not move."""
    if not (rule.months or rule.days):
        raise ValidationError(_("A deadline needs at least one month or one day."))
    rule.full_clean()
    rule.save()
    return rule
