"""Liveness and readiness for load balancers and container healthchecks (issue #21, item 10; docs/operations.md).

- `GET /healthz`: the process answers. Reads nothing, so a database outage does not get healthy web processes
  restarted.
- `GET /readyz`: this process can serve: PostgreSQL answers and the cache (Redis) answers. 200 when both hold, 503
  otherwise. The answer names those two checks, ok or failing, and nothing else: no error text, host, age or count.
- Two checks of the whole deployment run with it and are logged (WARNING `Alert: ...`) when they fail, never put in
  the answer and never making it 503: a Celery worker ran beat's heartbeat task (every HEALTH_HEARTBEAT_SECONDS)
  less than HEALTH_WORKER_MAX_AGE_SECONDS ago, and the consent log's checkpoint publisher is not stalled
  (`transparency_log.status.log_health`, the oversight dashboard's definition). They are faults of every web process
  at once: letting them fail readiness would take every process out of the load balancer -- the public opt-out pages
  with them -- for a worker queue busy with a fan-out; and whether the log's publisher is waiting on an entry would
  time a client's consent change for anyone who polls.

Load balancers' probes do nothing else: no IP observation, no GPC consent event, no session read (accounts and
consent middleware skip PROBE_PATHS).
"""

import logging
import math
import time

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

logger = logging.getLogger(__name__)

HEARTBEAT_KEY = "ops:worker-heartbeat"
ALERT_LOG_SECONDS = 60
_alerted: dict[str, float] = {}


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
    from transparency_log.status import log_health

    health = log_health()
    return f"the checkpoint publisher is stalled (oldest waiting entry {health.oldest_waiting})" if health.stalled else None


READINESS = {"database": _database, "cache": _cache}  # this process's own dependencies: they decide 200 or 503
ALERTS = {"worker": _worker, "consent_log": _consent_log}  # the deployment's: logged only


def _run(checks: dict) -> dict[str, str | None]:
    """Each check's failure (None: it holds). A check that raises has failed; the exception goes to the log only."""
    failures = {}
    for name, check in checks.items():
        try:
            failures[name] = check()
        except Exception as error:  # noqa: BLE001  # any failure of a dependency is a failed check
            failures[name] = type(error).__name__
            logger.warning("Health check %s raised.", name, exc_info=True)
    return failures


@require_safe
@never_cache
def healthz(request):
    return HttpResponse("ok\n", content_type="text/plain; charset=utf-8")


@require_safe
@never_cache
def readyz(request):
    failures = _run(READINESS)
    for name, failure in failures.items():
        if failure:
            logger.warning("Not ready: %s: %s", name, failure)
    if not any(failures.values()):  # the deployment's checks need the database and the cache themselves
        for name, failure in _run(ALERTS).items():
            if failure and time.monotonic() - _alerted.get(name, -math.inf) >= ALERT_LOG_SECONDS:
                _alerted[name] = time.monotonic()  # probes come every few seconds: once a minute per process is enough
                logger.warning("Alert: %s: %s", name, failure)
    ready = not any(failures.values())
    return JsonResponse({"ready": ready, "checks": {name: "failing" if failure else "ok" for name, failure in failures.items()}},
                        status=200 if ready else 503)
