"""Each API key has its own request budget (API_RATE); beyond it, 429 with Retry-After, and nothing is shared."""

import time

import pytest

from sharing.api import ApiKeyThrottle
from sharing.models import SharingRecord
from sharing.services import affiliate_key_create
from tests.conftest import make_client

from .conftest import bearer

pytestmark = pytest.mark.django_db

PROMOTIONAL = {"purpose": "promotional-sharing"}


class Clock:
    """The throttle's time, which a test moves on."""

    def __init__(self):
        self.now = time.time()

    def __call__(self):
        return self.now


@pytest.fixture(autouse=True)
def three_a_minute(monkeypatch):
    # DRF copies DEFAULT_THROTTLE_RATES onto the throttle class when it is imported, so overriding
    # settings.REST_FRAMEWORK in a test would not reach it: the rate is set where it is read.
    monkeypatch.setattr(ApiKeyThrottle, "THROTTLE_RATES", {"affiliate": "3/minute"})


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(ApiKeyThrottle, "timer", clock)
    return clock


@pytest.fixture
def californian(db):
    """Starts with promotional sharing granted, so every answer to the Ads Network shares them."""
    return make_client("ca@example.com", country="US", region="US-CA", phone="+14155552671")


def test_the_fourth_request_in_a_minute_with_one_key_is_refused_with_retry_after(client, ads_key, clock):
    for _ in range(3):
        assert client.get("/api/v1/agreement/", **bearer(ads_key)).status_code == 200
    clock.now += 20

    response = client.get("/api/v1/agreement/", **bearer(ads_key))

    assert response.status_code == 429
    assert response["Retry-After"] == "40"
    assert response.json() == {"error": {"code": "throttled",
                                         "message": "Request was throttled. Expected available in 40 seconds."}}


def test_a_refused_request_shares_no_client(client, ads_key, californian):
    for _ in range(3):
        assert client.get("/api/v1/clients/", PROMOTIONAL, **bearer(ads_key)).status_code == 200
    assert SharingRecord.objects.filter(client=californian).count() == 3

    assert client.get("/api/v1/clients/", PROMOTIONAL, **bearer(ads_key)).status_code == 429
    assert SharingRecord.objects.filter(client=californian).count() == 3


def test_another_affiliate_is_not_throttled_by_the_first_ones_requests(client, ads_key, dropship_key):
    for _ in range(4):
        client.get("/api/v1/agreement/", **bearer(ads_key))
    assert client.get("/api/v1/agreement/", **bearer(ads_key)).status_code == 429

    assert client.get("/api/v1/agreement/", **bearer(dropship_key)).status_code == 200


def test_each_key_of_an_affiliate_has_a_budget_of_its_own(client, ads, ads_key):
    for _ in range(4):
        client.get("/api/v1/agreement/", **bearer(ads_key))
    second_key = affiliate_key_create(affiliate=ads, name="second system")[1]

    assert client.get("/api/v1/agreement/", **bearer(second_key)).status_code == 200


def test_the_key_is_served_again_once_retry_after_has_passed(client, ads_key, clock):
    for _ in range(3):
        client.get("/api/v1/agreement/", **bearer(ads_key))
    refused = client.get("/api/v1/agreement/", **bearer(ads_key))
    assert refused.status_code == 429

    clock.now += int(refused["Retry-After"])

    assert client.get("/api/v1/agreement/", **bearer(ads_key)).status_code == 200

