"""Thin tasks: load, call a service. Safe to run twice (the deliveries' unique constraint)."""

from celery import shared_task
from django.db import transaction

from amendments.models import NoticeDelivery
from amendments.tasks import send_notices_soon

from .policy_answers import policy_reminders_create, versions_due_reminder


@shared_task
def send_policy_reminders() -> dict[str, int]:
    """Beat (hourly): remind the clients who have not answered a material change due within 7 days."""
    made = {}
    for version in versions_due_reminder():
        made[version.label] = policy_reminders_create(version=version)
        transaction.on_commit(lambda pk=version.pk: send_notices_soon(pk, NoticeDelivery.Kind.REMINDER))
    return made
