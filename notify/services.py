"""Queue, deliver and sweep outbound messages: each one sent at most once, none silently lost.

A message is a row before it is anything else. The task that sends it first *claims* it (queued → sending,
one UPDATE that only one worker can win), then calls the transport, then records the outcome. A worker that
dies after the claim leaves the row in `sending`; the sweeper marks such rows failed with the reason rather
than sending again, because the provider may already have accepted the message (at most once). Rows still
`queued` after a while (the broker was down when the transaction committed) are queued again.
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .hooks import SentMessage, address_fields, messages_sent
from .models import OutboundMessage
from .transports import TransportError, transport_for

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
REQUEUE_AFTER = timedelta(minutes=2)
STUCK_AFTER = timedelta(minutes=15)


def _enqueue(message_ids: list[int]) -> None:
    from .tasks import deliver_message

    for message_id in message_ids:
        try:
            deliver_message.delay(message_id)
        except Exception:  # broker down: the row stays queued and the sweeper sends it later
            logger.warning("Could not queue message %s; the sweeper will pick it up.", message_id, exc_info=True)


def message_queue(*, channel: str, kind: str, to: str, subject: str = "", body: str, idempotency_key: str,
                  client=None, attachment: tuple[str, str, str] | None = None, wipe_body_after_send: bool = False,
                  wipe_recipient_after_send: bool = False) -> OutboundMessage:
    """Write the delivery row now; send it after the surrounding transaction commits.

    The same idempotency key twice gives the same row back and sends nothing more. `wipe_recipient_after_send`
    (the last message before an erasure) also wipes the address and the body once the message is sent or has
    finally failed, so that nothing personal outlives the delivery.
    """
    name, content, mimetype = attachment or ("", "", "")
    full_name = getattr(client, "full_name", "") or ""
    carries_name = bool(full_name) and (full_name in subject or full_name in body)
    with transaction.atomic():
        message, created = OutboundMessage.objects.get_or_create(
            idempotency_key=idempotency_key,
            defaults=dict(channel=channel, kind=kind, to=to, subject=subject, body=body, client=client,
                          carries_name=carries_name,
                          attachment_name=name, attachment_body=content, attachment_type=mimetype,
                          wipe_body_after_send=wipe_body_after_send or wipe_recipient_after_send,
                          wipe_recipient_after_send=wipe_recipient_after_send),
        )
    if created:
        transaction.on_commit(lambda: _enqueue([message.pk]), robust=True)
    return message


def messages_queue_many(messages: list[OutboundMessage]) -> list[OutboundMessage]:
    """Many delivery rows at once (unsaved OutboundMessage objects, each with its idempotency key), in a few
    statements: a key that already has a row is left out (nothing is sent twice), the others are inserted and sent
    after the surrounding transaction commits. Callers writing the same keys at once must serialise (a row lock)."""
    keys = [m.idempotency_key for m in messages]
    existing = set(OutboundMessage.objects.filter(idempotency_key__in=keys).values_list("idempotency_key", flat=True))
    made = OutboundMessage.objects.bulk_create([m for m in messages if m.idempotency_key not in existing], batch_size=1000)
    ids = [m.pk for m in made if m.status == OutboundMessage.Status.QUEUED]
    if ids:
        transaction.on_commit(lambda: _enqueue(ids), robust=True)
    return made


def _claim(message_id: int) -> bool:
    return bool(
        OutboundMessage.objects.filter(pk=message_id, status=OutboundMessage.Status.QUEUED).update(
            status=OutboundMessage.Status.SENDING, sending_started_at=timezone.now(), attempts=F("attempts") + 1
        )
    )


RECIPIENT_WIPED = "[erased]"


def _recipient_wipe(message: OutboundMessage, error: str) -> dict:
    """The fields a message to an erased client loses once it is done with (its error may quote the address)."""
    if message.to:
        error = error.replace(message.to, RECIPIENT_WIPED)
    return {"to": "", "body": "", "attachment_body": "", "last_error": error}


def _finish(message: OutboundMessage, status: str, error: str = "") -> bool:
    updates = {"status": status, "last_error": error, "finished_at": timezone.now()}
    if status == OutboundMessage.Status.SENT and message.wipe_body_after_send:
        updates.update(body="", attachment_body="")
    if message.wipe_recipient_after_send:
        updates.update(_recipient_wipe(message, error))
    return bool(OutboundMessage.objects.filter(pk=message.pk, status=OutboundMessage.Status.SENDING).update(**updates))


@transaction.atomic
def _finish_sent(message: OutboundMessage) -> None:
    """Mark the message sent and, in the same transaction, hand it to the sent-message hook: a message to a client
    leaves the sharing record that its address went to the provider (issue #18). No client (staff, a public
    requester, a sign-up not confirmed yet): nothing about a client went out, no record."""
    if _finish(message, OutboundMessage.Status.SENT) and message.client_id:
        messages_sent([SentMessage(client_id=message.client_id, channel=message.channel, kind=message.kind,
                                   fields=address_fields(message.channel, carries_name=message.carries_name),
                                   sent_at=timezone.now())])


def message_deliver(*, message_id: int) -> str:
    """Send one message if nobody has. Returns the resulting status; `queued` means try again later."""
    if not _claim(message_id):
        return OutboundMessage.objects.filter(pk=message_id).values_list("status", flat=True).first() or "missing"
    message = OutboundMessage.objects.get(pk=message_id)
    attachment = (message.attachment_name, message.attachment_body, message.attachment_type) if message.attachment_name else None
    try:
        transport_for(message.channel).send(to=message.to, subject=message.subject, body=message.body, attachment=attachment,
                                            idempotency_key=f"message-{message.pk}")
    except TransportError as exc:
        if exc.permanent or message.attempts >= MAX_ATTEMPTS:
            _finish(message, OutboundMessage.Status.FAILED, str(exc))
            return OutboundMessage.Status.FAILED
        OutboundMessage.objects.filter(pk=message.pk).update(status=OutboundMessage.Status.QUEUED, last_error=str(exc))
        return OutboundMessage.Status.QUEUED
    _finish_sent(message)
    return OutboundMessage.Status.SENT


def messages_sweep() -> dict:
    """Queue again what the broker never got; fail, with the reason, what a dead worker left half-sent."""
    now = timezone.now()
    stuck_rows = OutboundMessage.objects.filter(status=OutboundMessage.Status.SENDING, sending_started_at__lt=now - STUCK_AFTER)
    # A last message to an erased client cannot be resent by hand: its address goes with the failure.
    stuck_rows.filter(wipe_recipient_after_send=True).update(to="", body="", attachment_body="")
    stuck = stuck_rows.update(
        status=OutboundMessage.Status.FAILED, finished_at=now,
        last_error="The worker stopped while sending; not retried automatically, because the message may already "
                   "have gone out. Resend it from the admin if the recipient did not get it.",
    )
    waiting = list(
        OutboundMessage.objects.filter(status=OutboundMessage.Status.QUEUED, created_at__lt=now - REQUEUE_AFTER)
        .values_list("pk", flat=True)[:5000]
    )
    _enqueue(waiting)
    return {"requeued": len(waiting), "stuck_failed": stuck}
