"""Rate limits are one counter for all workers when Redis is configured (issue #16.10).

Two separate OS processes — two workers — load the production settings with the same Redis and send requests in
turn: each limit trips after N requests in total, not N per process. Without Redis each process counts alone,
which the start-up log says and `manage.py check` warns about in production.
"""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.db import connection

from sharing.services import affiliate_key_create
from tests.project.test_settings import PRODUCTION, manage
from tests.sharing.conftest import make_affiliate

ROOT = Path(__file__).resolve().parents[2]

# One worker: the production settings, its own Django, the test database, a cache prefix of this test's own (so no
# earlier run's counters count). It sends `n` requests of one kind and prints their status codes.
WORKER = """
import json, os, sys
import django
django.setup()
from django.conf import settings
from django.core.cache import caches
settings.CACHES["default"]["KEY_PREFIX"] = os.environ["TEST_CACHE_PREFIX"]
assert caches["default"].key_prefix == os.environ["TEST_CACHE_PREFIX"]
from django.test import Client
kind, n, address, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
browser = Client(REMOTE_ADDR=address)
send = {
    "public-request-form": lambda i: browser.post("/requests/new/", {}),
    "api-key-guessing": lambda i: browser.get("/api/v1/agreement/", HTTP_AUTHORIZATION=f"Bearer fpp_deadbeef_{i}"),
    "api-rate-per-key": lambda i: browser.get("/api/v1/agreement/", HTTP_AUTHORIZATION=f"Bearer {key}"),
}[kind]
print(json.dumps([send(i).status_code for i in range(n)]))
"""

# kind -> (requests the first worker sends, requests the second sends, what the second gets when they share)
LIMITS = {
    # 10 submissions an hour from one address (rights/views/public.py); an empty form is refused with 400.
    "public-request-form": (6, 5, [400] * 4 + [429]),
    # API_KEY_FAILURE_LIMIT=5 rejected keys from one address, then 429 (sharing/authentication.py).
    "api-key-guessing": (3, 3, [401, 401, 429]),
    # API_RATE=3/hour requests per key (sharing/api.py, DRF's throttle).
    "api-rate-per-key": (2, 2, [200, 429]),
}


def worker(kind, n, *, address, key, prefix, **env):
    settings = connection.settings_dict
    database = f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
    environment = {**os.environ, **PRODUCTION, "ALLOWED_HOSTS": "testserver", "SECURE_SSL_REDIRECT": "false",
                   "DATABASE_URL": database, "API_KEY_FAILURE_LIMIT": "5", "API_RATE": "3/hour",
                   "TEST_CACHE_PREFIX": prefix, "CONN_MAX_AGE": "0", **env}
    result = subprocess.run([sys.executable, "-c", WORKER, kind, str(n), address, key], cwd=ROOT, env=environment,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


@pytest.fixture
def api_key():
    """A key committed to the database (the tests are transactional), so that the workers' connections see it."""
    return affiliate_key_create(affiliate=make_affiliate("Ads Network"))[1]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("kind", LIMITS)
def test_two_worker_processes_on_the_same_redis_share_one_counter(kind, api_key):
    first, second, expected = LIMITS[kind]
    prefix, address = f"test-{uuid.uuid4().hex[:12]}", f"203.0.113.{uuid.uuid4().int % 250 + 1}"
    statuses, log = worker(kind, first, address=address, key=api_key, prefix=prefix)
    assert 429 not in statuses and "one counter across all worker processes" in log
    assert worker(kind, second, address=address, key=api_key, prefix=prefix)[0] == expected


@pytest.mark.django_db(transaction=True)
def test_without_redis_each_worker_process_counts_alone_and_says_so(api_key):
    first, second, _ = LIMITS["public-request-form"]
    prefix, address = f"test-{uuid.uuid4().hex[:12]}", f"198.51.100.{uuid.uuid4().int % 250 + 1}"
    no_redis = {"REDIS_URL": "", "CACHE_URL": ""}
    worker("public-request-form", first, address=address, key=api_key, prefix=prefix, **no_redis)
    statuses, log = worker("public-request-form", second, address=address, key=api_key, prefix=prefix, **no_redis)
    assert statuses == [400] * second
    assert "Rate limits count per worker process" in log


def test_production_without_a_shared_cache_fails_the_deploy_check_with_a_warning():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION, REDIS_URL="", CACHE_URL="")
    assert result.returncode != 0
    assert "fulfillmen.W001" in result.stderr and "Rate limits count per worker process" in result.stderr
    shared = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION, REDIS_URL="redis://127.0.0.1:6379/3")
    assert shared.returncode == 0, shared.stderr
    assert "fulfillmen.W001" not in shared.stdout + shared.stderr
