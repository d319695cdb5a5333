import pytest

from tests.amendments.test_redis_outage import own_redis  # noqa: F401  (a fixture: Redis the test can stop)
from tests.webhooks.receiver import Receiver


@pytest.fixture
def receiver():
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def private_networks(settings):
    """Local receivers are on 127.0.0.1: let them in (off by default in tests, as in production)."""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    return settings


@pytest.fixture
def told(receiver, private_networks, django_capture_on_commit_callbacks):
    """Run a change with its on-commit sends (to the local receiver), as a committed transaction would."""
    def run(change, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return change(*args, **kwargs)
    return run
