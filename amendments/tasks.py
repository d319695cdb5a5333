"""Thin tasks: load by id, call a service. Safe to run twice."""

from celery import shared_task
from django.conf import settings

from .models import NoticeDelivery
from .notices import notices_recover, notices_send


@shared_task(acks_late=True)
def send_notices(version_id: int, kind: str = NoticeDelivery.Kind.NOTICE) -> dict:
    return notices_send(version_id=version_id, kind=kind)


def send_notices_soon(version_id: int, kind: str = NoticeDelivery.Kind.NOTICE) -> None:
    """Start as many senders as the workers can run side by side; each claims chunks until none is left."""
    for _ in range(settings.NOTICE_PARALLEL_SENDERS):
        send_notices.delay(version_id, kind)


@shared_task
def sweep_notices() -> dict:
    """Beat: recover chunks of dead workers, and start senders for versions with rows still queued."""
    recovered = notices_recover()
    waiting = NoticeDelivery.objects.filter(status=NoticeDelivery.Status.QUEUED).values_list("version_id", "kind").distinct()
    for version_id, kind in waiting:
        send_notices_soon(version_id, kind)
    return recovered
