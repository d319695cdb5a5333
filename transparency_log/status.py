"""How the public consent log is keeping up, in the words the portal, the receipt e-mail and the dashboard use.

A consent event is in the public log once a signed checkpoint covers it. The Celery beat task publishes one every
LOG_CHECKPOINT_SECONDS; in the quick start (tasks run in-process, no beat) a checkpoint appears only when someone
runs `manage.py publish_checkpoint`.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Min
from django.utils import timezone

from .checkpoints import latest_checkpoint, log_signer
from .models import PendingLeaf, SignedCheckpoint


def checkpoint_minutes() -> int | None:
    """At most how many minutes a new event waits for a checkpoint (LOG_CHECKPOINT_SECONDS, rounded up to whole
    minutes), or None where nothing publishes checkpoints on a schedule (the quick start, without a beat)."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return None
    return max(1, math.ceil(settings.LOG_CHECKPOINT_SECONDS / 60))


def log_verifier_key() -> str | None:
    """The verifier key a client checks checkpoints with, or None while no signing key is configured."""
    try:
        return log_signer().vkey
    except ImproperlyConfigured:
        return None


@dataclass(frozen=True)
class LogHealth:
    """The privacy officer's view of the log: the latest checkpoint, and whether events wait too long for one."""

    latest: SignedCheckpoint | None
    oldest_waiting: datetime | None  # when the longest-waiting event not yet in the tree was recorded
    stalled: bool                    # events wait and no checkpoint came when one should have: is the beat running?

    @property
    def waiting(self) -> bool:
        return self.oldest_waiting is not None


def log_health(now: datetime | None = None) -> LogHealth:
    """Two queries. Stalled: events wait and no checkpoint exists yet, or the latest checkpoint is older than two
    intervals while an event has waited longer than one (so the first event after a quiet hour does not alarm)."""
    now = now or timezone.now()
    interval = timedelta(seconds=settings.LOG_CHECKPOINT_SECONDS)
    latest = latest_checkpoint()
    oldest_waiting = PendingLeaf.objects.aggregate(oldest=Min("event__recorded_at"))["oldest"]
    if oldest_waiting is None:
        stalled = False
    elif latest is None:
        stalled = True
    else:
        stalled = latest.published_at < now - 2 * interval and oldest_waiting < now - interval
    return LogHealth(latest, oldest_waiting, stalled)
