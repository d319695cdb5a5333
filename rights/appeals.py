"""Appeals of refused requests (VCDPA §59.1-577(C); Colorado CPA 6-1-1306(3); also the review GDPR Art. 12(4) and
PIPL Art. 50 point to before a complaint).

A refusal's e-mail offers the appeal: a signed link without an account, the request's portal page for a client. An
appeal made within RIGHTS_APPEAL_WINDOW_DAYS of the refusal opens one `RequestAppeal` (one per request: appealing
again changes nothing), due in RIGHTS_APPEAL_DAYS, and is decided by someone other than who refused the request.
The decision, with its reasons, is e-mailed; an upheld refusal says which authority the requester can complain to
(rights/regulators.py). A reversed refusal reopens the request, due by the appeal's due date.
"""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.models import Client, User

from .links import appeal_token_read, appeal_window_ends
from .models import DataSubjectRequest, RequestAppeal, RequestMessage
from .regulators import complaint_authority
from .services import _email_send, _language, _locked, _shown_date, request_address
from .verification import VerificationLinkError

Status = DataSubjectRequest.Status
AppealStatus = RequestAppeal.Status
Direction = RequestMessage.Direction
DECIDE_PERMISSION = "rights.change_requestappeal"
GROUNDS_MAX = 5000


def appeal_open_now(request: DataSubjectRequest, *, today=None) -> bool:
    """Whether the portal offers the appeal: refused, within the window, not yet appealed."""
    ends = appeal_window_ends(request)
    return (request.status == Status.REFUSED and ends is not None and (today or timezone.localdate()) <= ends
            and not RequestAppeal.objects.filter(request=request).exists())


def request_for_appeal_token(token: str) -> DataSubjectRequest:
    """The refused request an appeal link names, or VerificationLinkError (a link for a client's request is no use:
    clients appeal from the portal, logged in)."""
    public_id, email = appeal_token_read(token)
    request = DataSubjectRequest.objects.filter(public_id=public_id, client__isnull=True).first()
    if request is None or request.requester_email.lower() != email:
        raise VerificationLinkError(expired=False)
    return request


def _refuser_id(request: DataSubjectRequest) -> int | None:
    """Who refused: recorded on the request since appeals exist; before that, the author of the refusal e-mail."""
    if request.closed_by_id:
        return request.closed_by_id
    return (request.messages.filter(direction=Direction.OUTGOING, delivery__kind="dsr-refused", author__isnull=False)
            .values_list("author_id", flat=True).last())


@transaction.atomic
def appeal_open(*, request: DataSubjectRequest, grounds: str, channel: str,
                client: Client | None = None) -> tuple[RequestAppeal, bool]:
    """Open the appeal of a refused request, once. `client`: the logged-in client appealing from the portal (only
    the request's own client may). Returns (appeal, opened_now)."""
    locked = _locked(request)
    if client is not None and locked.client_id != client.pk:
        raise PermissionDenied(_("This is not your request."))
    existing = RequestAppeal.objects.filter(request=locked).first()
    if existing is not None:
        return existing, False
    if locked.status != Status.REFUSED:
        raise ValidationError(_("Only a refused request can be appealed."))
    ends = appeal_window_ends(locked)
    today = timezone.localdate()
    if ends is None or today > ends:
        raise ValidationError(_("The time to appeal this refusal ended on %(date)s.") % {"date": _shown_date(ends)})
    appeal = RequestAppeal.objects.create(
        request=locked, channel=channel, grounds=(grounds or "").strip()[:GROUNDS_MAX], received_at=timezone.now(),
        due_on=today + timedelta(days=settings.RIGHTS_APPEAL_DAYS), refused_by_id=_refuser_id(locked))
    body = _("Appeal against the refusal.")
    RequestMessage.objects.create(request=locked, direction=Direction.INCOMING,
                                  body=f"{body}\n\n{appeal.grounds}".strip())
    if request_address(locked):
        with translation.override(_language(locked)):
            text = _("We received your appeal against the refusal of your request (%(kind)s). Someone other than the "
                     "person who refused it reviews it, and we tell you the outcome and its reasons by %(due)s at the "
                     "latest.") % {"kind": locked.get_kind_display(), "due": _shown_date(appeal.due_on)}
            _email_send(request=locked, kind="dsr-appeal-received", subject=_("We received your appeal"), text=text,
                        actor=None, idempotency_key=f"dsr-appeal-received:{appeal.public_id}")
    return appeal, True


def appeal_may_decide(*, appeal: RequestAppeal, actor: User) -> bool:
    """Four eyes: who refused the request never decides its appeal."""
    return bool(actor.is_active and actor.is_staff and actor.has_perm(DECIDE_PERMISSION)
                and (appeal.refused_by_id is None or appeal.refused_by_id != actor.pk))


def _decision_text(request: DataSubjectRequest, appeal: RequestAppeal) -> tuple[str, str]:
    values = {"kind": request.get_kind_display(), "reason": appeal.decision_reason}
    if appeal.status == AppealStatus.REVERSED:
        text = _("We reviewed your appeal and reversed the refusal of your request (%(kind)s).\n\nWhy: %(reason)s\n\n"
                 "We now act on your request and answer by %(due)s at the latest.") % {
            **values, "due": _shown_date(request.due_on)}
        return _("Your appeal: the refusal is reversed"), text
    text = _("We reviewed your appeal and upheld the refusal of your request (%(kind)s).\n\nWhy: %(reason)s\n\nIf "
             "you disagree, you can complain to the authority that oversees privacy where you live:\n%(authority)s") % {
        **values, "authority": complaint_authority(request.jurisdiction)}
    return _("Your appeal: the refusal is upheld"), text


@transaction.atomic
def appeal_decide(*, appeal: RequestAppeal, outcome: str, reason: str, actor: User) -> RequestAppeal:
    """Decide an appeal, with reasons, by someone other than who refused; the requester is e-mailed the decision.
    Reversed: the request reopens in progress, due by the appeal's due date (the refusal's reason stays on the
    thread)."""
    locked = RequestAppeal.objects.select_for_update().get(pk=appeal.pk)
    if locked.status != AppealStatus.OPEN:
        raise ValidationError(_("This appeal was already decided (%(status)s).") % {"status": locked.get_status_display()})
    if not appeal_may_decide(appeal=locked, actor=actor):
        raise PermissionDenied(_("You refused this request: its appeal is decided by someone else."))
    if outcome not in (AppealStatus.UPHELD, AppealStatus.REVERSED):
        raise ValidationError({"outcome": _("Uphold or reverse the refusal.")})
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"decision_reason": _("Give the reasons for the decision; the requester is told.")})
    locked.status, locked.decided_by, locked.decided_at, locked.decision_reason = outcome, actor, timezone.now(), reason
    locked.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    request = _locked(locked.request)
    note = _("Appeal decided: %(status)s. %(reason)s") % {"status": locked.get_status_display(), "reason": reason}
    if outcome == AppealStatus.REVERSED:
        note += "\n" + _("The refusal's reason was: %(reason)s") % {"reason": request.refusal_reason}
        request.status, request.completed_at, request.closed_by, request.refusal_reason = Status.IN_PROGRESS, None, None, ""
        request.due_on, request.extended_to = locked.due_on, None
        request.save(update_fields=["status", "completed_at", "closed_by", "refusal_reason", "due_on", "extended_to"])
    RequestMessage.objects.create(request=request, direction=Direction.NOTE, author=actor, body=note)
    if request_address(request):
        with translation.override(_language(request)):
            subject, text = _decision_text(request, locked)
        _email_send(request=request, kind=f"dsr-appeal-{outcome}", subject=subject, text=text, actor=actor,
                    idempotency_key=f"dsr-appeal-decision:{locked.public_id}")
    return locked
