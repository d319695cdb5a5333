"""The client's side of a business transfer: what is announced, the object button and, where the acquirer's purpose
is new, the consent it needs (PIPL Art. 22). Only a client the transfer concerns finds its page; for anyone else
it does not exist (404, as for an unknown id)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.ip import request_ip
from consent.models import Channel, ConsentAction, ConsentState
from consent.services import consent_receipt_send, consent_record
from consent.views import client_required

from .models import TransferObjection
from .selectors import objection_of, transfer_subject_for_client, transfer_subjects_of_client
from .services import objection_open, transfer_objection_record


def _subject_or_404(client, public_id):
    subject = transfer_subject_for_client(client=client, public_id=public_id)
    if subject is None:
        raise Http404
    return subject


def _fresh_consent(subject) -> bool:
    purpose_id = subject.transfer.new_purpose_id
    return bool(purpose_id) and ConsentState.objects.filter(client_id=subject.client_id, purpose_id=purpose_id,
                                                            granted=True).exists()


@client_required
def transfer_list(request, client):
    return render(request, "transfers/list.html", {"client": client,
                                                   "subjects": list(transfer_subjects_of_client(client=client))})


@client_required
def transfer_detail(request, client, public_id):
    subject = _subject_or_404(client, public_id)
    return render(request, "transfers/detail.html", {
        "client": client, "subject": subject, "transfer": subject.transfer, "objection": objection_of(subject=subject),
        "can_object": objection_open(subject.transfer), "consented": _fresh_consent(subject),
    })


@require_POST
@client_required
def transfer_object(request, client, public_id):
    subject = _subject_or_404(client, public_id)
    try:
        objection, created = transfer_objection_record(transfer=subject.transfer, client=client,
                                                       channel=TransferObjection.Channel.PORTAL)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if created:
            messages.success(request, _("Your objection is recorded: your data will not be handed over to "
                                        "%(acquirer)s. A confirmation was sent to your e-mail.")
                             % {"acquirer": subject.transfer.acquirer_name})
        else:
            messages.info(request, _("You had already objected; nothing changed."))
    return redirect("transfers:detail", public_id=public_id)


@require_POST
@client_required
def transfer_consent(request, client, public_id):
    """Give the fresh consent a new purpose needs; it is withdrawn like any other, under "Your choices"."""
    subject = _subject_or_404(client, public_id)
    purpose = subject.transfer.new_purpose
    if purpose is None or subject.transfer.status != subject.transfer.Status.PUBLISHED:
        messages.error(request, _("This transfer asks for no consent now."))
        return redirect("transfers:detail", public_id=public_id)
    try:
        with transaction.atomic():
            event, created = consent_record(client=client, purpose=purpose, action=ConsentAction.GRANT,
                                            channel=Channel.PORTAL, ip_address=request_ip(request),
                                            user_agent=request.headers.get("User-Agent", ""))
            if created:
                consent_receipt_send(event=event)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Your consent to “%(purpose)s” is recorded. A receipt was sent to your e-mail.")
                         % {"purpose": purpose.title})
    return redirect("transfers:detail", public_id=public_id)


def received_page_announcements(client) -> list[str]:
    """For sharing's "Who received your data": the transfers announced to this client whose data has not gone yet
    (once handed over, the sharing records list the acquirer like any recipient)."""
    pending = [s for s in transfer_subjects_of_client(client=client) if s.handed_over_at is None
               and s.transfer.status in (s.transfer.Status.PUBLISHED, s.transfer.Status.HANDING_OVER)]
    if not pending:
        return []
    return [render_to_string("transfers/includes/announced.html", {"subjects": pending})]
