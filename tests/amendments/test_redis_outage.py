"""Redis stops while a client withdraws and while a policy is published: the web requests still succeed and the
ledger is written; once Redis is back, the sweepers send every receipt and notice, none twice.

The outage is real: the test runs a Redis server of its own (so the shared one keeps serving the other tests), points
the broker, the cache and the sent-marks at it, stops it, and starts it again on the same port.
"""

import logging
import shutil
import socket
import subprocess
from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from amendments.models import NoticeDelivery
from amendments.tasks import sweep_notices
from consent.models import ConsentEvent, Purpose
from notify.models import OutboundMessage
from notify.tasks import sweep_messages
from tests.conftest import make_client
from tests.workers import wait_for

from .test_notices import draft, emails_per_recipient, sms_per_recipient

pytestmark = pytest.mark.django_db(transaction=True)


class RedisServer:
    def __init__(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url, self.process = f"redis://127.0.0.1:{self.port}/0", None

    def start(self) -> None:
        self.process = subprocess.Popen([shutil.which("redis-server") or "redis-server", "--port", str(self.port),
                                         "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_for(self._answers, timeout=10), "the test's Redis did not start"

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(10)
        assert not self._answers()

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@pytest.fixture
def own_redis(settings):
    """Broker, cache and sent-marks of this process on a Redis server the test can stop."""
    from fulfillmen.celery import app

    server = RedisServer()
    server.start()
    saved = {k: app.conf[k] for k in ("broker_url", "broker_connection_retry", "broker_connection_timeout",
                                      "task_publish_retry_policy")}
    app.conf.update(broker_url=server.url, broker_connection_retry=False, broker_connection_timeout=1,
                    task_publish_retry_policy={"max_retries": 0})
    app._pool, app.amqp._producer_pool = None, None  # forget connections to the shared broker
    settings.REDIS_URL = server.url
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": server.url}}
    yield server
    app.conf.update(saved)
    app._pool, app.amqp._producer_pool = None, None
    if server.process.poll() is None:
        server.stop()


def test_a_withdrawal_and_a_publication_during_a_redis_outage_are_sent_once_redis_is_back(
        client, own_redis, worker_factory, notice_dirs, caplog, privacy_officer):
    owner = make_client("ca@example.com", country="US", region="US-CA", phone="+14155552671")
    others = [make_client(f"c{n}@example.com", phone=f"+1415555{2600 + n}") for n in range(3)]
    client.force_login(owner.user)

    own_redis.stop()
    with caplog.at_level(logging.WARNING):
        response = client.post(reverse("consent:change", args=["promotional-sharing"]), {"action": "withdraw"})
    assert "Could not queue message" in caplog.text  # the broker really was unreachable
    assert response.status_code == 302  # the client's withdrawal works without Redis …
    assert ConsentEvent.objects.filter(client=owner, purpose=Purpose.objects.get(code="promotional-sharing"),
                                       action="withdraw").exists()  # … and is in the ledger
    staff = Client()
    staff.force_login(privacy_officer)
    version = draft()
    published = staff.post(reverse("admin:amendments_policyversion_publish", args=[version.pk]),
                           {"effective_at": timezone.localtime(timezone.now() + timedelta(days=31)).strftime("%Y-%m-%dT%H:%M")})
    assert published.status_code == 302  # the privacy officer's publication works without Redis too
    version.refresh_from_db()
    assert version.is_published
    assert NoticeDelivery.objects.filter(version=version, status=NoticeDelivery.Status.QUEUED).count() == 8
    assert OutboundMessage.objects.filter(kind="consent-receipt", status=OutboundMessage.Status.QUEUED).count() == 1

    own_redis.start()
    worker_factory(redis_url=own_redis.url)
    with time_machine.travel(timezone.now() + timedelta(minutes=3)):  # the sweepers' beat, a little later
        for _ in range(2):  # run twice: a second sweep must not send anything again
            sweep_messages()
            sweep_notices()
    assert wait_for(lambda: not NoticeDelivery.objects.filter(version=version).exclude(status="sent").exists()
                    and not OutboundMessage.objects.exclude(status="sent").exists(), timeout=60)
    mailboxes = emails_per_recipient(notice_dirs[0])
    assert mailboxes[owner.email] == 2 and all(mailboxes[c.email] == 1 for c in others)  # receipt + notice; notice
    assert sum(sms_per_recipient(notice_dirs[1]).values()) == 4
    assert set(mailboxes.values()) <= {1, 2} and sum(mailboxes.values()) == 5
