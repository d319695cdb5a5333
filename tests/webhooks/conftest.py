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
