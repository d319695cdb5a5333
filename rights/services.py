"""The request queue: opening a request with its due date, assigning, extending, answering by e-mail, closing.
How requests come in and are acknowledged, and the verification pauses of the deadline, are in rights/intake.py.

Every e-mail to the requester is a delivery row (notify) and an outgoing message on the request's thread, written in
the same transaction as the change it announces: the thread is the evidence of what the requester was told and when.
Requests are never deleted here: the request log is kept at least 24 months (11 CCR §7101).
"""

from datetime import date

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import formats, timezone, translation
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from accounts.jurisdictions import Jurisdiction
from accounts.models import Client, User
from accounts.roles import LEGAL_GROUP
from sharing.partitions import retention_gate_shared

from .deadlines import due_date_for
from .links import appeal_link, appeal_window_ends
from .models import DataSubjectRequest, LegalHold, RequestMessage, ResponseDeadlineRule

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
                 received_at=None, language: str = "") -> DataSubjectRequest:
    """Enter a request in the queue, due by the client's jurisdiction's rule (the default rule without a client)."""
    if kind not in DataSubjectRequest.Kind.values:
        raise ValidationError({"kind": _("Choose what kind of request this is.")})
    if client is None and not requester_email:
        raise ValidationError({"requester_email": _("A request needs a client or an e-mail address to answer.")})
    received_at = received_at or timezone.now()
    jurisdiction = client.jurisdiction if client else Jurisdiction.OTHER
    request = DataSubjectRequest(
        kind=kind, channel=channel, client=client, requester_name=requester_name, requester_email=requester_email,
        details=details, received_at=received_at, jurisdiction=jurisdiction, status=status, language=language,
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
    if request.client_id:
        return request.client.preferred_language
    return request.language or translation.get_language() or "en"


def _requester_name(request: DataSubjectRequest) -> str:
    return (request.client.full_name if request.client_id and not request.client.erased_at else "") or request.requester_name


def _email_send(*, request: DataSubjectRequest, kind: str, subject: str, text: str, actor: User | None,
                idempotency_key: str = "") -> RequestMessage:
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
    if request.status == Status.AWAITING_CLIENT:
        raise ValidationError(_("The client has not confirmed the authorised agent yet; nothing is sent to them but "
                                "the confirmation link."))
    with translation.override(_language(request)):
        name = _requester_name(request)
        greeting = _("Hello %(name)s,") % {"name": name} if name else _("Hello,")
        footer = _("Reference of your request: %(reference)s. Reply to this e-mail if you have questions.") % {
            "reference": request_reference(request)}
        body = f"{greeting}\n\n{text.strip()}\n\n{footer}{SIGNATURE}"
        full_subject = f"{subject} [{request_reference(request)}]"
    message = RequestMessage.objects.create(request=request, direction=Direction.OUTGOING, author=actor, body=body)
    message.delivery = message_queue(channel=OutboundMessage.Channel.EMAIL, kind=kind, client=request.client, to=to,
                                     subject=full_subject, body=body, idempotency_key=idempotency_key or f"{kind}:{message.pk}")
    message.save(update_fields=["delivery"])
    return message


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
    if locked.clock_paused_since is not None:
        raise ValidationError(_("The deadline is paused for verification: extend it, if needed, once the identity is "
                                "verified."))
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
        text = text % {"kind": request.get_kind_display(), "reason": request.refusal_reason}
        appeal = _("You can also appeal this refusal until %(until)s: someone other than the person who refused it "
                   "reviews it, and we tell you the outcome within %(days)s days. To appeal, open:\n%(link)s") % {
            "until": _shown_date(appeal_window_ends(request)), "days": settings.RIGHTS_APPEAL_DAYS,
            "link": appeal_link(request=request)}
        return _("Your privacy request was refused"), f"{text}\n\n{appeal}"
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
    was_verified = locked.status not in (Status.UNVERIFIED, Status.AWAITING_CLIENT)
    locked.status, locked.outcome, locked.refusal_reason = status, outcome.strip(), refusal_reason.strip()
    locked.completed_at, locked.closed_by = timezone.now(), actor if getattr(actor, "is_staff", False) else None
    locked.save(update_fields=["status", "outcome", "refusal_reason", "completed_at", "closed_by"])
    if was_verified and request_address(locked) and (status == Status.REFUSED or notify_client):
        with translation.override(_language(locked)):
            subject, text = _closing_text(locked)
        _email_send(request=locked, kind=f"dsr-{status}", subject=subject, text=text, actor=actor)
    return locked


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
    with transaction.atomic():
        retention_gate_shared()  # a month of sharing records being dropped reads this hold (sharing/partitions.py)
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
