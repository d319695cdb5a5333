"""Dormant accounts warned some days ago: the retention job's warning step run in the past, its e-mails delivered then."""

from datetime import timedelta

import time_machine
from django.test import TestCase
from django.utils import timezone

from notify.models import OutboundMessage
from notify.services import message_deliver
from rights.retention.dormancy import WARNING_KIND
from rights.retention.enforce import rule_enforce
from rights.retention.rules import retention_rule


def warn_dormant(days_ago: int = 31) -> int:
    """Run the warning of the retention job `days_ago` days back (every client dormant within the warning days of
    then is e-mailed) and deliver the e-mails at that moment too, as the worker would have. Returns how many."""
    at = timezone.now() - timedelta(days=days_ago)
    with time_machine.travel(at, tick=False):
        with TestCase.captureOnCommitCallbacks(execute=True):  # tests in a transaction: the e-mails go "on commit"
            outcome = rule_enforce(retention_rule("dormant_warnings"), now=at)
        for pk in OutboundMessage.objects.filter(kind=WARNING_KIND, status=OutboundMessage.Status.QUEUED).values_list(
                "pk", flat=True):  # with a real worker, tasks are not run in-process: deliver them here, then
            message_deliver(message_id=pk)
    return outcome.done
