"""Liveness and readiness for load balancers and container healthchecks (issue #21, item 10; docs/operations.md).

- `GET /healthz`: the process answers. Reads nothing, so a database outage does not get healthy web processes
  restarted.
- `GET /readyz`: this process can serve: PostgreSQL answers, the cache (Redis) answers, a Celery worker ran the
  heartbeat task (beat, every HEALTH_HEARTBEAT_SECONDS) less than HEALTH_WORKER_MAX_AGE_SECONDS ago, and no consent
  log entry has waited longer than LOG_CHECKPOINT_MAX_LAG_SECONDS for a signed checkpoint. 200 when all hold, 503
  otherwise.

The answers name the checks and say ok or failing, nothing more: no error text, host, age or count. An outsider
who can reach them learns whether the service is up, not when clients last changed their consent; the failing
check's reason goes to the log.
"""

import logging
import time
from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Min
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "ops:worker-heartbeat"


@shared_task(name="fulfillmen.health.worker_heartbeat", ignore_result=True)
def worker_heartbeat() -> None:
    """Beat sends it; whichever worker runs it proves that the broker delivers and a worker consumes."""
    cache.set(HEARTBEAT_KEY, time.time(), timeout=None)


def _database() -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return None


def _cache() -> str | None:
    probe = f"ops:readiness-probe:{time.monotonic_ns()}"
    cache.set(probe, 1, timeout=5)
    if cache.get(probe) != 1:
        return "the cache did not return what was just written"
    cache.delete(probe)
    return None


def _worker() -> str | None:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return None  # the quick start: tasks run in this process, there is no worker to wait for
    beat = cache.get(HEARTBEAT_KEY)
    if beat is None:
        return "no worker heartbeat yet (are the worker and beat running?)"
    age = time.time() - float(beat)
    if age > settings.HEALTH_WORKER_MAX_AGE_SECONDS:
        return f"the last worker heartbeat is {age:.0f} s old"
    return None


def _consent_log() -> str | None:
    """The oldest entry not yet covered by a signed checkpoint: still pending, or sequenced after the last one."""
    from transparency_log.models import LogLeaf, PendingLeaf, SignedCheckpoint

    published = SignedCheckpoint.objects.order_by("-tree_size").values_list("tree_size", flat=True).first() or 0
    waiting = [PendingLeaf.objects.aggregate(at=Min("event__recorded_at"))["at"],
               LogLeaf.objects.filter(index__gte=published).aggregate(at=Min("sequenced_at"))["at"]]
    oldest = min((at for at in waiting if at is not None), default=None)
    if oldest is not None and timezone.now() - oldest > timedelta(seconds=settings.LOG_CHECKPOINT_MAX_LAG_SECONDS):
        return f"a consent log entry has waited {(timezone.now() - oldest).total_seconds():.0f} s for a checkpoint"
    return None


CHECKS = {"database": _database, "cache": _cache, "worker": _worker, "consent_log": _consent_log}


def readiness() -> dict[str, str | None]:
    """Each check's failure (None: it holds). A check that raises has failed; the exception goes to the log only."""
    failures = {}
    for name, check in CHECKS.items():
        try:
            failures[name] = check()
        except Exception as error:  # noqa: BLE001  # any failure of a dependency means not ready
            failures[name] = f"{type(error).__name__}"
            logger.warning("Readiness check %s raised.", name, exc_info=True)
    return failures


@require_GET
@never_cache
def healthz(request):
    return HttpResponse("ok\n", content_type="text/plain; charset=utf-8")


@require_GET
@never_cache
def readyz(request):
    failures = readiness()
    for name, failure in failures.items():
        if failure:
            logger.warning("Not ready: %s: %s", name, failure)
    ready = not any(failures.values())
    return JsonResponse({"ready": ready, "checks": {name: "failing" if failure else "ok" for name, failure in failures.items()}},
                        status=200 if ready else 503)
