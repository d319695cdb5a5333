"""Guessing API keys is throttled per address and logged with the key's prefix only."""

import logging
import time

import pytest

from .conftest import bearer

pytestmark = pytest.mark.django_db

CLIENTS = "/api/v1/clients/?purpose=promotional-sharing"
GUESSER, OTHER = "203.0.113.9", "198.51.100.4"


@pytest.fixture(autouse=True)
def five_rejections_a_window(settings):
    settings.API_KEY_FAILURE_LIMIT, settings.API_KEY_FAILURE_WINDOW = 5, 60


def guess(client, n, address=GUESSER):
    return [client.get(CLIENTS, REMOTE_ADDR=address, **bearer(f"fpp_deadbeef_guess{i}")).status_code for i in range(n)]


def test_after_the_limit_every_request_from_that_address_is_refused_with_retry_after_even_a_right_key(client, ads_key):
    assert guess(client, 5) == [401] * 5
    refused = client.get(CLIENTS, REMOTE_ADDR=GUESSER, **bearer(ads_key))
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 60
    assert refused.json()["error"]["code"] == "throttled"
    # Another address, and the right key from it, are not affected.
    assert client.get(CLIENTS, REMOTE_ADDR=OTHER, **bearer(ads_key)).status_code == 200


def test_the_refusal_ends_with_the_window(client, ads_key, settings):
    settings.API_KEY_FAILURE_WINDOW = 1
    guess(client, 5)
    assert client.get(CLIENTS, REMOTE_ADDR=GUESSER, **bearer(ads_key)).status_code == 429
    time.sleep(1.2)
    assert client.get(CLIENTS, REMOTE_ADDR=GUESSER, **bearer(ads_key)).status_code == 200


def test_good_requests_do_not_count_towards_the_limit(client, ads_key):
    for _ in range(10):
        assert client.get(CLIENTS, REMOTE_ADDR=GUESSER, **bearer(ads_key)).status_code == 200
    assert guess(client, 5) == [401] * 5
    assert client.get(CLIENTS, REMOTE_ADDR=GUESSER, **bearer(ads_key)).status_code == 429


def test_each_rejection_is_logged_with_the_prefix_and_never_the_key(client, caplog):
    with caplog.at_level(logging.WARNING, logger="sharing.authentication"):
        client.get(CLIENTS, REMOTE_ADDR=GUESSER, **bearer("fpp_deadbeef_secretpart"))
    assert "unknown_key" in caplog.text and "prefix deadbeef" in caplog.text and "1 of 5" in caplog.text
    assert "secretpart" not in caplog.text
