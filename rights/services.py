"""The request queue: opening a request with its due date, extending it, closing it, answering by e-mail."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.jurisdictions import Jurisdiction
from accounts.models import Client, User

from .deadlines import due_date_for
from .models import DataSubjectRequest, RequestMessage

Status = DataSubjectRequest.Status
CLOSED = {Status.COMPLETED, Status.REFUSED, Status.CANCELLED}


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
        RequestMessage.objects.create(request=request, direction=RequestMessage.Direction.INCOMING, body=details)
    return request


@transaction.atomic
def request_close(*, request: DataSubjectRequest, status: str, outcome: str = "", refusal_reason: str = "",
                  actor: User | None = None) -> DataSubjectRequest:
    locked = DataSubjectRequest.objects.select_for_update().get(pk=request.pk)
    if locked.status in CLOSED:
        raise ValidationError(_("This request is already closed (%(status)s).") % {"status": locked.get_status_display()})
    if status not in CLOSED:
        raise ValidationError(_("A request closes as completed, refused or cancelled."))
    if status == Status.REFUSED and not refusal_reason.strip():
        raise ValidationError({"refusal_reason": _("Say why the request is refused; the client is told.")})
    locked.status, locked.outcome, locked.refusal_reason = status, outcome, refusal_reason
    locked.completed_at = timezone.now()
    locked.save(update_fields=["status", "outcome", "refusal_reason", "completed_at"])
    return locked
