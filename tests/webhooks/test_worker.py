"""Webhooks through a real Celery worker on Redis (issue #19): delivered after commit; a worker killed in the middle
of a delivery loses nothing (the same webhook-id comes again); a change committed while Redis is down is delivered
once Redis is back; a healthy endpoint gets each event once."""

import logging
import time

import pytest
from django.db import transaction

from sharing.models import WithdrawalNotice
from tests.workers import Worker, wait_for
from webhooks.delivery import deliveries_sweep
from webhooks.models import WebhookDelivery

from .helpers import client_held_by, recipient_with_endpoint, verified, withdraw

pytestmark = pytest.mark.django_db(transaction=True)

WORKER_ENV = {"WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true"}


@pytest.fixture
def worker_factory(django_db_blocker, tmp_path, private_networks, settings):
    """Start (and kill, and start again) real workers on a queue of the test's own. (Named so that the tasks of this
    process go to the broker rather than run in-process: tests/conftest.py `tasks_run_in_process`.)"""
    from fulfillmen.celery import app

    previous, queue, started = app.conf.task_default_queue, None, []

    def start(*, redis_url=None, wait=True):
        nonlocal queue
        with django_db_blocker.unblock():
            # The worker shares this test's cache namespace, as every process of a deployment shares its Redis.
            env = {**WORKER_ENV, "CACHE_KEY_PREFIX": settings.CACHES["default"].get("KEY_PREFIX", "")}
            worker = Worker(mail_dir=tmp_path, sms_dir=tmp_path, queue=queue, redis_url=redis_url, env=env)
        queue = worker.queue
        started.append(worker.start(wait=wait))
        return worker

    yield start
    for worker in started:
        worker.stop()
    app.conf.task_default_queue = previous


def _status(endpoint):
    return list(WebhookDelivery.objects.filter(endpoint=endpoint).values_list("status", flat=True))


def test_a_real_worker_delivers_each_event_once_and_the_notices_are_acknowledged(receiver, worker_factory):
    worker_factory()
    affiliate, endpoint, secret = recipient_with_endpoint(receiver.url)
    clients = [client_held_by(affiliate) for _ in range(5)]
    for client in clients:
        with transaction.atomic():
            withdraw(client, affiliate)
    assert wait_for(lambda: _status(endpoint) == ["delivered"] * 5, timeout=30)
    deliveries_sweep()  # nothing due: nothing sent again
    time.sleep(1)
    assert len(receiver.received) == 5 and len({r.webhook_id for r in receiver.received}) == 5
    assert {verified(r, secret)["data"]["client_id"] for r in receiver.received} == {str(c.public_id) for c in clients}
    assert not WithdrawalNotice.objects.filter(affiliate=affiliate, acknowledged_at__isnull=True).exists()


def test_a_worker_killed_mid_delivery_loses_nothing_and_the_retry_has_the_same_webhook_id(receiver, worker_factory,
                                                                                         settings):
    receiver.delay = 3  # the worker is inside the POST when it dies
    worker = worker_factory()
    affiliate, endpoint, secret = recipient_with_endpoint(receiver.url)
    with transaction.atomic():
        withdraw(client_held_by(affiliate), affiliate)
    assert wait_for(lambda: len(receiver.received) == 1, timeout=30)
    worker.kill()
    assert _status(endpoint) == ["sending"]
    receiver.delay = 0
    worker_factory()
    settings.WEBHOOK_STUCK_SECONDS = 1
    time.sleep(1.2)
    assert deliveries_sweep()["stuck_requeued"] == 1  # the beat's sweep finds the dead worker's row
    assert wait_for(lambda: _status(endpoint) == ["delivered"], timeout=30)
    assert len(receiver.received) == 2
    assert receiver.received[0].webhook_id == receiver.received[1].webhook_id
    assert verified(receiver.received[0], secret) == verified(receiver.received[1], secret)


def test_a_change_committed_while_redis_is_down_is_delivered_once_redis_is_back(receiver, worker_factory, own_redis,
                                                                               caplog):
    affiliate, endpoint, secret = recipient_with_endpoint(receiver.url)
    client = client_held_by(affiliate)
    own_redis.stop()
    with caplog.at_level(logging.WARNING), transaction.atomic():
        withdraw(client, affiliate)  # the client's withdrawal works without Redis
    assert "the sweeper will" in caplog.text  # the broker really was unreachable
    assert _status(endpoint) == ["pending"] and receiver.received == []
    own_redis.start()
    worker_factory(redis_url=own_redis.url)
    for _ in range(2):  # the beat's sweeps; a second one sends nothing again
        deliveries_sweep()
    assert wait_for(lambda: _status(endpoint) == ["delivered"], timeout=30)
    [request] = receiver.received
    assert verified(request, secret)["data"]["client_id"] == str(client.public_id)
