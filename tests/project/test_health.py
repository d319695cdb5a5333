"""/healthz says the process answers; /readyz says it can serve: PostgreSQL, the cache, a worker's heartbeat, the
consent log's checkpoints. Both answer the same to everyone and name no error, host, age or count."""

import time

import pytest
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

from fulfillmen.health import HEARTBEAT_KEY, worker_heartbeat
from tests.amendments.conftest import notice_dirs, worker_factory  # noqa: F401  (fixtures)
from tests.conftest import make_client
from tests.workers import wait_for
from transparency_log.checkpoints import checkpoint_publish

ALL_OK = {"database": "ok", "cache": "ok", "worker": "ok", "consent_log": "ok"}


def _ready(client):
    response = client.get(reverse("readyz"))
    assert response["Cache-Control"].startswith("max-age=0")
    return response.status_code, response.json()


def test_liveness_answers_without_reading_the_database_or_the_cache(client, settings):
    """No django_db mark: a query would raise; the cache is a dead address: a read or write would fail the request."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0", "KEY_PREFIX": "dead"}}
    response = client.get(reverse("healthz"))
    assert (response.status_code, response.content) == (200, b"ok\n")


@pytest.mark.django_db
def test_a_process_is_ready_only_while_a_worker_heartbeat_is_younger_than_a_minute(client):
    assert _ready(client) == (503, {"ready": False, "checks": {**ALL_OK, "worker": "failing"}})  # never beat
    cache.set(HEARTBEAT_KEY, time.time() - settings.HEALTH_WORKER_MAX_AGE_SECONDS - 1, timeout=None)
    assert _ready(client)[0] == 503
    cache.set(HEARTBEAT_KEY, time.time(), timeout=None)
    assert _ready(client) == (200, {"ready": True, "checks": ALL_OK})


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_running_the_beat_heartbeat_makes_the_process_ready(client, worker_factory):  # noqa: F811
    assert settings.CELERY_BEAT_SCHEDULE["worker-heartbeat"] == {
        "task": worker_heartbeat.name, "schedule": float(settings.HEALTH_HEARTBEAT_SECONDS)}
    worker_factory(env={"CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"]})
    assert _ready(client)[0] == 503
    worker_heartbeat.delay()
    assert wait_for(lambda: _ready(client) == (200, {"ready": True, "checks": ALL_OK}), timeout=30)


@pytest.mark.django_db
def test_a_consent_entry_waiting_too_long_for_a_checkpoint_makes_the_process_not_ready(client, settings):
    cache.set(HEARTBEAT_KEY, time.time(), timeout=None)
    settings.LOG_CHECKPOINT_MAX_LAG_SECONDS = 0  # every waiting entry is late: the publisher would be stalled
    make_client()  # its sign-up defaults wait for the log
    assert _ready(client) == (503, {"ready": False, "checks": {**ALL_OK, "consent_log": "failing"}})
    assert checkpoint_publish() is not None
    assert _ready(client) == (200, {"ready": True, "checks": ALL_OK})


@pytest.mark.django_db
def test_an_unreachable_cache_fails_readiness_and_the_answer_names_no_error_or_host(client, settings, caplog):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0", "KEY_PREFIX": "dead"}}
    response = client.get(reverse("readyz"))
    assert response.status_code == 503
    assert response.json()["checks"] == {**ALL_OK, "cache": "failing", "worker": "failing"}
    assert b"127.0.0.1" not in response.content and b"Error" not in response.content
    assert "Not ready: cache: ConnectionError" in caplog.text  # the reason is in the log, for the operator


@pytest.mark.django_db
def test_the_quick_start_without_a_worker_needs_no_heartbeat(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    assert _ready(client) == (200, {"ready": True, "checks": ALL_OK})


@pytest.mark.django_db
def test_health_answers_over_plain_http_where_everything_else_is_redirected_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get(reverse("home")).status_code == 301
    assert client.get(reverse("healthz")).status_code == 200
    assert client.get(reverse("readyz")).status_code in (200, 503)
