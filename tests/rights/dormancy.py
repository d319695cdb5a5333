"""Dormant accounts warned some days ago: the retention job's warning step run in the past, its e-mails delivered then."""

from datetime import timedelta

import time_machine
from django.test import TestCase
from django.utils import timezone

from fulfillmen.celery import app
from notify.models import OutboundMessage
from notify.services import message_deliver
from rights.retention.dormancy import WARNING_KIND
from rights.retention.enforce import rule_enforce
from rights.retention.rules import retention_rule


def warn_dormant(days_ago: int = 31) -> int:
    """Run the warning of the retention job `days_ago` days back (every client dormant within the warning days of
    then is e-mailed) and deliver the e-mails at that moment too, as the worker would have. Returns how many."""
    at = timezone.now() - timedelta(days=days_ago)
    # Eager: the send tasks queued on commit run here, at `at`. A worker left running by an earlier test (the session
    # workers of tests/notify and tests/breaches consume the default queue) would otherwise send them now, in real
    # time, and a warning sent today does not let the erasure happen for another WARNING_DAYS.
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        with time_machine.travel(at, tick=False):
            with TestCase.captureOnCommitCallbacks(execute=True):  # tests in a transaction: the e-mails go "on commit"
                outcome = rule_enforce(retention_rule("dormant_warnings"), now=at)
            for pk in OutboundMessage.objects.filter(kind=WARNING_KIND, status=OutboundMessage.Status.QUEUED).values_list(
                    "pk", flat=True):  # anything still queued: deliver it here, then
                message_deliver(message_id=pk)
    finally:
        app.conf.task_always_eager = eager
    return outcome.done
