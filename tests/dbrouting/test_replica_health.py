"""A replica that is down, dies in the middle of a page, or lags behind: the pages read from the primary, never an
error page, and the replica is asked again after DATABASE_REPLICA_RETRY_SECONDS."""

import socket
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
from django.db import connections
from django.urls import reverse

from fulfillmen import db_router
from fulfillmen.db_router import REPLICA
from tests.dbrouting.conftest import PORTAL_PAGES, login, shown_from
from tests.dbrouting.standby import Standby, why_no_standby

pytestmark = pytest.mark.django_db(databases=["default", "replica"])


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_replica_sends_every_page_to_the_primary_until_it_is_asked_again(
        client, owner, marked_purpose, replica_elsewhere, settings, caplog):
    settings.DATABASE_REPLICA_RETRY_SECONDS = 1.0
    original_port = connections[REPLICA].settings_dict["PORT"]
    replica_elsewhere(PORT=str(unused_port()))
    login(client, owner.user)
    for name in PORTAL_PAGES:
        assert client.get(reverse(name)).status_code == 200, name
    assert shown_from(client.get(reverse("consent:choices")), marked_purpose) == "primary"
    assert caplog.text.count("Read replica not used for 1 s: unreachable") == 1  # asked once, not on every page
    replica_elsewhere(PORT=original_port)  # back; still left alone until the retry time has passed
    assert shown_from(client.get(reverse("consent:choices")), marked_purpose) == "primary"
    time.sleep(1.1)
    assert shown_from(client.get(reverse("consent:choices")), marked_purpose) == "replica"


def test_a_replica_that_dies_in_the_middle_of_a_page_costs_a_second_try_on_the_primary_not_an_error(
        client, owner, marked_purpose, replica_elsewhere, replica_rows, caplog):
    replica = replica_elsewhere()
    login(client, owner.user)
    assert shown_from(client.get(reverse("consent:choices")), marked_purpose) == "replica"  # healthy, and remembered so
    replica_rows.execute("SELECT pg_terminate_backend(%s)", [replica.connection.info.backend_pid])
    response = client.get(reverse("consent:choices"))
    assert shown_from(response, marked_purpose) == "primary"
    assert "Read replica not used for 30 s: a statement failed" in caplog.text


@pytest.fixture(scope="module")
def standby():
    why = why_no_standby()
    if why:
        pytest.skip(f"no streaming standby can be started here: {why}")
    directory = Path(tempfile.mkdtemp(prefix="fulfillmen_w1_standby_"))
    try:
        cluster = Standby.start(directory)
    except Exception as exc:  # the server's own words, in the skip reason
        Standby(directory, 0, 0).stop()
        pytest.skip(f"no streaming standby could be started: {getattr(exc, 'stderr', '') or exc}")
    yield cluster
    cluster.stop()


def _connect(port):
    return psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres", autocommit=True)


def _replayed(standby_connection, n) -> bool:
    try:
        return standby_connection.execute("SELECT count(*) FROM heartbeat WHERE n = %s", [n]).fetchone()[0] > 0
    except psycopg.errors.UndefinedTable:  # the table itself not replayed yet
        return False


def _write_and_wait(primary, standby_connection, n):
    primary.execute("INSERT INTO heartbeat VALUES (%s)", [n])
    deadline = time.monotonic() + 20
    while not _replayed(standby_connection, n):
        assert time.monotonic() < deadline, "the standby never replayed the write"
        time.sleep(0.05)


def test_a_streaming_standby_too_far_behind_is_not_read_and_is_read_again_once_it_caught_up(
        client, owner, marked_purpose, standby, replica_elsewhere, settings, caplog):
    settings.DATABASE_REPLICA_MAX_LAG_SECONDS = 1.0
    settings.DATABASE_REPLICA_CHECK_SECONDS = 0.0
    settings.DATABASE_REPLICA_RETRY_SECONDS = 0.0
    replica_elsewhere(NAME="postgres", HOST="127.0.0.1", PORT=str(standby.standby_port), USER="postgres", PASSWORD="")
    with _connect(standby.primary_port) as primary, _connect(standby.standby_port) as on_standby:
        primary.execute("CREATE TABLE IF NOT EXISTS heartbeat (n int)")
        _write_and_wait(primary, on_standby, 1)
        ok, why = db_router.replica_health_check()
        assert ok and why.endswith("s behind"), why  # in recovery, caught up

        on_standby.execute("SELECT pg_wal_replay_pause()")
        try:
            primary.execute("INSERT INTO heartbeat VALUES (2)")
            time.sleep(1.5)
            ok, why = db_router.replica_health_check()
            assert not ok and "allowed" in why, why
            login(client, owner.user)
            assert shown_from(client.get(reverse("consent:choices")), marked_purpose) == "primary"
            assert "Read replica not used for 0 s:" in caplog.text and "s behind (at most 1 s allowed)" in caplog.text
        finally:
            on_standby.execute("SELECT pg_wal_replay_resume()")
        _write_and_wait(primary, on_standby, 3)
        ok, why = db_router.replica_health_check()
        assert ok, why

        time.sleep(1.5)  # a primary that committed nothing since: the replay time ages, the standby counts as behind
        assert not db_router.replica_health_check()[0]
