"""/healthz says the process answers; /readyz says it can serve (PostgreSQL, the cache) and logs alerts about the
deployment (a worker's heartbeat, the consent log's publisher). Both answer the same to everyone, name no error,
host, age or count, and a probe does nothing else."""

import logging
import time

import pytest
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

from accounts.models import IPObservation
from consent.models import ConsentEvent
from fulfillmen import health
from fulfillmen.health import HEARTBEAT_KEY, worker_heartbeat
from tests.amendments.conftest import notice_dirs, worker_factory  # noqa: F401  (fixtures)
from tests.conftest import make_client
from tests.workers import wait_for
from transparency_log.checkpoints import checkpoint_publish

READY = (200, {"ready": True, "checks": {"database": "ok", "cache": "ok"}})
DEAD_CACHE = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0",
                          "KEY_PREFIX": "dead"}}


@pytest.fixture(autouse=True)
def alerts_logged_afresh(monkeypatch):
    monkeypatch.setattr(health, "_alerted", {})


def _ready(client):
    response = client.get(reverse("readyz"))
    assert response["Cache-Control"].startswith("max-age=0")
    return response.status_code, response.json()


def _alerts(caplog):
    return [r.getMessage() for r in caplog.records if r.name == "fulfillmen.health" and r.getMessage().startswith("Alert")]


def test_liveness_answers_without_reading_the_database_or_the_cache(client, settings):
    """No django_db mark: a query would raise; the cache is a dead address: a read or write would fail the request."""
    settings.CACHES = DEAD_CACHE
    response = client.get(reverse("healthz"))
    assert (response.status_code, response.content) == (200, b"ok\n")
    assert client.head(reverse("healthz")).status_code == 200


@pytest.mark.django_db
def test_an_unreachable_cache_makes_the_process_not_ready_and_the_answer_names_no_error_or_host(client, settings, caplog):
    settings.CACHES = DEAD_CACHE
    response = client.get(reverse("readyz"))
    assert (response.status_code, response.json()) == (503, {"ready": False, "checks": {"database": "ok", "cache": "failing"}})
    assert b"127.0.0.1" not in response.content and b"Error" not in response.content
    assert "Not ready: cache: ConnectionError" in caplog.text  # the reason is in the log, for the operator


@pytest.mark.django_db
def test_a_missing_or_stale_worker_heartbeat_is_logged_as_an_alert_and_the_process_stays_ready(client, caplog):
    caplog.set_level(logging.WARNING, logger="fulfillmen.health")
    assert _ready(client) == READY
    assert _alerts(caplog) == ["Alert: worker: no worker heartbeat yet (are the worker and beat running?)"]
    assert _ready(client) == READY and len(_alerts(caplog)) == 1  # once a minute per process, not on every probe
    health._alerted.clear()
    cache.set(HEARTBEAT_KEY, time.time() - settings.HEALTH_WORKER_MAX_AGE_SECONDS - 1, timeout=None)
    assert _ready(client) == READY
    assert _alerts(caplog)[-1].startswith("Alert: worker: the last worker heartbeat is 6")
    health._alerted.clear()
    cache.set(HEARTBEAT_KEY, time.time(), timeout=None)
    caplog.clear()
    assert _ready(client) == READY and _alerts(caplog) == []


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_running_the_beat_heartbeat_ends_the_alert(client, worker_factory, caplog):  # noqa: F811
    assert settings.CELERY_BEAT_SCHEDULE["worker-heartbeat"] == {
        "task": worker_heartbeat.name, "schedule": float(settings.HEALTH_HEARTBEAT_SECONDS),
        "options": {"expires": float(settings.HEALTH_HEARTBEAT_SECONDS)}}
    worker_factory(env={"CACHE_KEY_PREFIX": settings.CACHES["default"]["KEY_PREFIX"]})
    worker_heartbeat.delay()
    assert wait_for(lambda: cache.get(HEARTBEAT_KEY) is not None, timeout=30)
    caplog.clear()
    assert _ready(client) == READY and _alerts(caplog) == []


@pytest.mark.django_db
def test_a_stalled_checkpoint_publisher_is_logged_as_an_alert_and_never_shown(client, caplog):
    cache.set(HEARTBEAT_KEY, time.time(), timeout=None)  # the worker is fine
    make_client()  # its sign-up defaults wait for the log, and no checkpoint was ever published: stalled (log_health)
    assert _ready(client) == READY  # the answer says nothing of the log
    assert [a.split(" (")[0] for a in _alerts(caplog)] == ["Alert: consent_log: the checkpoint publisher is stalled"]
    assert checkpoint_publish() is not None
    health._alerted.clear()
    caplog.clear()
    assert _ready(client) == READY and _alerts(caplog) == []


@pytest.mark.django_db
def test_the_quick_start_without_a_worker_needs_no_heartbeat(client, settings, caplog):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    assert _ready(client) == READY and _alerts(caplog) == []


@pytest.mark.django_db
def test_a_probe_with_a_clients_session_and_gpc_does_nothing_else_and_gets_the_anonymous_answer(
        client, django_assert_num_queries):
    owner = make_client("ca@example.com", country="US", region="US-CA")  # California: starts granted, GPC withdraws
    client.force_login(owner.user)
    observations, events = IPObservation.objects.count(), ConsentEvent.objects.count()
    anonymous = [client.__class__().get(reverse(name)) for name in ("healthz", "readyz")]
    for name, alone in zip(("healthz", "readyz"), anonymous, strict=True):
        response = client.get(reverse(name), HTTP_SEC_GPC="1")
        assert (response.status_code, response.content) == (alone.status_code, alone.content)
        assert not response.cookies  # no session touched, no cookie sent
    assert (IPObservation.objects.count(), ConsentEvent.objects.count()) == (observations, events)
    with django_assert_num_queries(0):  # not even the session: liveness reads nothing, signed in or not
        assert client.get(reverse("healthz"), HTTP_SEC_GPC="1").status_code == 200
    assert client.get(reverse("portal:dashboard"), HTTP_SEC_GPC="1").status_code == 200  # a page does honour it
    assert ConsentEvent.objects.count() > events


@pytest.mark.django_db
def test_health_answers_over_plain_http_where_everything_else_is_redirected_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    assert client.get(reverse("home")).status_code == 301
    assert client.get(reverse("healthz")).status_code == 200
    assert _ready(client) == READY
