"""Erasure (GDPR Art. 17; PIPL Art. 47; CCPA §1798.105): asked for after re-entering the password, effective after
a grace period the client can cancel (ERASURE_GRACE_DAYS), performed by an hourly beat task — unless a legal hold
keeps the data, in which case the client is told why and until when.

A request under a hold is recorded as *refused*, with the hold reasons as the reason for denial, rather than kept
open as "blocked": a hold can last years, while the request log must show an answer within the legal deadline
(GDPR Art. 12(3)-(4), PIPL Art. 50). The client may ask again once the hold is released; the erasure page shows
the holds, and their keep-until dates, in place of the button.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Client, User

from ..erasure_page import scheduled_erasures
from ..holds import client_legal_holds
from ..models import DataSubjectRequest
from ..services import request_close, request_open
from .anonymise import client_anonymise, files_delete
from .emails import erasure_cancelled_email, erasure_done_email, erasure_refused_reason, erasure_scheduled_email

logger = logging.getLogger(__name__)
Kind, Status = DataSubjectRequest.Kind, DataSubjectRequest.Status


def scheduled_erasure_of(*, client: Client) -> DataSubjectRequest | None:
    """The client's erasure waiting for its date, if any (there is at most one: asking twice returns it)."""
    return scheduled_erasures(client_id=client.pk).first()


def _refuse(*, request: DataSubjectRequest, client: Client, holds, actor: User | None) -> DataSubjectRequest:
    """Refused with the holds as the reason; `request_close` e-mails it with the right to complain."""
    reason = erasure_refused_reason(client=client, holds=holds, planned_for=request.scheduled_for)
    return request_close(request=request, status=Status.REFUSED, actor=actor, refusal_reason=reason)


@transaction.atomic
def erasure_request(*, client: Client, actor: User, channel: str = DataSubjectRequest.Channel.PORTAL) -> DataSubjectRequest:
    """The client (re-authenticated by the caller) asks for erasure, or staff record a request received elsewhere.

    Returns the scheduled request (the client is e-mailed the date and how to cancel), or a refused one when a legal
    hold keeps the data (the client is e-mailed the reasons and until when the data is kept). Asking again while an
    erasure is scheduled returns that one.
    """
    if not (actor.is_staff or actor.pk == client.user_id):
        raise PermissionDenied(_("Only the client, or staff on their behalf, can ask to erase their data."))
    client = Client.objects.select_for_update().get(pk=client.pk)  # a double submit waits here, then finds the first
    if client.erased_at:
        raise ValidationError(_("This client's data has already been erased."))
    existing = scheduled_erasure_of(client=client)
    if existing is not None:
        return existing
    holds = client_legal_holds(client=client)
    if holds:
        request = request_open(kind=Kind.ERASURE, channel=channel, client=client)
        return _refuse(request=request, client=client, holds=holds, actor=actor)
    request = request_open(kind=Kind.ERASURE, channel=channel, client=client, status=Status.SCHEDULED)
    request.scheduled_for = request.received_at + timedelta(days=settings.ERASURE_GRACE_DAYS)
    erasure_scheduled_email(client=client, request=request)
    request.acknowledged_at = timezone.now()  # the e-mail confirms receipt, the date and how to cancel
    request.save(update_fields=["scheduled_for", "acknowledged_at"])
    return request


@transaction.atomic
def erasure_cancel(*, request: DataSubjectRequest, client: Client) -> DataSubjectRequest:
    """The client changes their mind during the grace period (or after it, as long as nothing was erased yet)."""
    locked = DataSubjectRequest.objects.select_for_update().get(pk=request.pk)
    if locked.client_id != client.pk or locked.kind != Kind.ERASURE:
        raise PermissionDenied(_("This is not your erasure request."))
    if locked.status != Status.SCHEDULED:
        raise ValidationError(_("This erasure can no longer be cancelled: it is “%(status)s”.")
                              % {"status": locked.get_status_display()})
    locked = request_close(request=locked, status=Status.CANCELLED, actor=client.user,
                           outcome="Cancelled by the client during the grace period; nothing was erased.")
    erasure_cancelled_email(client=client, request=locked)
    return locked


def erasure_perform(*, request: DataSubjectRequest, now: datetime | None = None) -> DataSubjectRequest:
    """Erase the client once the grace period is over, in one transaction; safe to run twice.

    A hold set during the grace period refuses the erasure at this point, and the client is told. Otherwise the
    final e-mail's delivery row is written first, with the old address (so a dead worker cannot lose it), then
    every personal value goes (rights/erasure/anonymise.py), affiliates get erasure notices, and the request is
    completed. The e-mail leaves after commit; its row then loses the address.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = DataSubjectRequest.objects.select_for_update().get(pk=request.pk)
        if locked.kind != Kind.ERASURE or locked.status != Status.SCHEDULED:
            return locked  # cancelled, refused or already done
        if locked.scheduled_for is None or locked.scheduled_for > now:
            raise ValidationError(_("The grace period of this erasure is not over yet."))
        client = Client.objects.select_for_update().get(pk=locked.client_id)
        holds = client_legal_holds(client=client)
        if holds:
            return _refuse(request=locked, client=client, holds=holds, actor=None)
        final = erasure_done_email(client=client, request=locked)
        notices, files = client_anonymise(client=client, final_message=final, at=now)
        completed = request_close(request=locked, status=Status.COMPLETED, outcome=(
            f"Personal data erased; {notices} erasure notice(s) to affiliates that had received it; final e-mail "
            f"queued (delivery {final.public_id})."))
        files_delete(files)  # last: a failed commit leaves the request scheduled, and the next run finishes the job
        return completed


def erasures_perform_due(*, now: datetime | None = None) -> int:
    """The hourly beat task's work: every scheduled erasure whose date has come, each in its own transaction.

    SKIP LOCKED: a request another worker (or a cancellation) holds is left to it; one that fails is logged and
    retried on the next run, without stopping the others.
    """
    now = now or timezone.now()
    due = list(DataSubjectRequest.objects.filter(kind=Kind.ERASURE, status=Status.SCHEDULED, scheduled_for__lte=now)
               .order_by("scheduled_for", "id").values_list("pk", flat=True))
    done = 0
    for pk in due:
        try:
            with transaction.atomic():
                request = (DataSubjectRequest.objects.select_for_update(skip_locked=True)
                           .filter(pk=pk, status=Status.SCHEDULED).first())
                if request is None:
                    continue
                erasure_perform(request=request, now=now)
        except Exception:
            logger.exception("Erasure request %s failed; it stays scheduled and is retried on the next run.", pk)
            continue
        done += 1
    return done
