"""A second database on the same PostgreSQL server as the tests' replica, for these tests only.

It is made as a copy of the test database right after its migrations (CREATE DATABASE … TEMPLATE): the schema and
the reference data (purposes, groups, …), none of a test's rows. A test puts into it what the replica should hold,
through `replica_rows`, which writes as a logical-replication applier would (`session_replication_role = replica`:
no triggers, no foreign-key checks), and differently from the primary where it must prove which one a page read.
The rest of the suite never sees the alias: it is added to the connections for this folder and removed after it.
"""

import time

import psycopg
import pytest
from django.conf import settings as django_settings
from django.db import connections
from django.test.utils import CaptureQueriesContext
from psycopg import sql

from consent.models import NOT_A_CHOICE, LegalBasis, Purpose
from fulfillmen import db_router

PIN_MIDDLEWARE = "fulfillmen.db_router.ReplicaPinMiddleware"
REPLICA_MARK = " (replica copy)"
PORTAL_PAGES = ["portal:dashboard", "consent:choices", "consent:history", "sharing:received"]


@pytest.fixture(autouse=True)
def kept_pages_off(settings):
    """These tests watch which database a page's queries go to. A kept page body (accounts/page_fragments.py) runs
    none of them: its version is read on the primary, and a body rendered from the replica is never kept
    (tests/consent/test_history_fragments.py)."""
    settings.PORTAL_FRAGMENT_SECONDS = 0


@pytest.fixture
def marked_purpose(replica_rows):
    """A consent purpose every client is offered, titled differently on the replica."""
    purpose = (Purpose.objects.filter(legal_basis=LegalBasis.CONSENT, parent__isnull=True).exclude(code__in=NOT_A_CHOICE)
               .order_by("code").first())
    replica_rows.execute("UPDATE consent_purpose SET title_en = title_en || %s WHERE id = %s", [REPLICA_MARK, purpose.pk],
                         undo="UPDATE consent_purpose SET title_en = %s WHERE id = %s",
                         undo_params=[purpose.title_en, purpose.pk])
    return purpose


def shown_from(response, purpose) -> str:
    page = response.content.decode()
    assert response.status_code == 200
    if purpose.title_en + REPLICA_MARK in page:
        return "replica"
    assert purpose.title_en in page
    return "primary"


def replica_statements(client, url):
    with CaptureQueriesContext(connections["replica"]) as on_replica, CaptureQueriesContext(connections["default"]) as on_primary:
        response = client.get(url)
    return response, len(on_replica), len(on_primary)


def _server(settings_dict, dbname="postgres"):
    return psycopg.connect(host=settings_dict["HOST"] or None, port=settings_dict["PORT"] or None,
                           user=settings_dict["USER"], password=settings_dict["PASSWORD"] or None, dbname=dbname,
                           autocommit=True)


@pytest.fixture(scope="package")
def replica_database(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        primary = connections["default"].settings_dict
        name = f"{primary['NAME']}_replica"
        connections.close_all()  # a template database must have no other session
        with _server(primary) as server:
            server.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            server.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name),
                                                                             sql.Identifier(primary["NAME"])))
        config = {**django_settings.DATABASES["default"], "NAME": name, "TEST": {"NAME": name},
                  "OPTIONS": {"connect_timeout": 2, "options": "-c default_transaction_read_only=on"}}
        django_settings.DATABASES["replica"] = config
        connections.settings["replica"] = connections.configure_settings(
            {"default": connections.settings["default"], "replica": config})["replica"]
        try:
            yield connections.settings["replica"]
        finally:
            connections["replica"].close()
            del connections["replica"]
            connections.settings.pop("replica", None)  # the same dict as settings.DATABASES
            django_settings.DATABASES.pop("replica", None)
            with _server(primary) as server:
                server.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


@pytest.fixture(autouse=True)
def replica_routing(request, settings):
    """The router and the pin middleware as settings install them with DATABASE_REPLICA_URL (for database tests)."""
    if request.node.get_closest_marker("django_db") is None:
        yield
        return
    request.getfixturevalue("replica_database")
    settings.DATABASE_ROUTERS = ["fulfillmen.db_router.ReplicaRouter"]
    middleware = list(settings.MIDDLEWARE)
    middleware.insert(middleware.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1, PIN_MIDDLEWARE)
    settings.MIDDLEWARE = middleware
    db_router.replica_health_forget()
    yield
    db_router.replica_health_forget()


class ReplicaRows:
    """Writes to the replica's database from outside Django (the way replication would), and undoes them after."""

    def __init__(self, settings_dict):
        self.connection = _server(settings_dict, settings_dict["NAME"])
        self.connection.execute("SET session_replication_role = replica")
        self.undo = []

    def execute(self, statement, params=(), *, undo=None, undo_params=()):
        self.connection.execute(statement, params)
        if undo:
            self.undo.append((undo, undo_params))

    def copy(self, table, ids, **changes):
        """Copy rows `ids` of `table` from the primary (as the test sees it) to the replica, then apply `changes`."""
        primary = connections["default"]
        with primary.cursor() as cursor:
            raw = cursor.cursor
            with raw.copy(sql.SQL("COPY (SELECT * FROM {} WHERE id = ANY(%s)) TO STDOUT").format(sql.Identifier(table)),
                          [list(ids)]) as out:
                data = b"".join(bytes(chunk) for chunk in out)
        with self.connection.cursor() as cursor:
            with cursor.copy(sql.SQL("COPY {} FROM STDIN").format(sql.Identifier(table))) as into:
                into.write(data)
        self.undo.append((sql.SQL("DELETE FROM {} WHERE id = ANY(%s)").format(sql.Identifier(table)), [list(ids)]))
        for column, value in changes.items():
            self.connection.execute(sql.SQL("UPDATE {} SET {} = %s WHERE id = ANY(%s)").format(
                sql.Identifier(table), sql.Identifier(column)), [value, list(ids)])

    def mirror(self):
        """Give the replica the primary's rows (as the test sees them) of every table it may be asked about."""
        from fulfillmen.db_router import replica_tables

        for table in sorted(replica_tables()):
            held = [row[0] for row in self.connection.execute(sql.SQL("SELECT id FROM {}").format(sql.Identifier(table)))]
            with connections["default"].cursor() as cursor:
                cursor.execute(f'SELECT id FROM "{table}" WHERE NOT (id = ANY(%s))', [held])  # our own table names
                missing = [row[0] for row in cursor.fetchall()]
            if missing:
                self.copy(table, missing)

    def close(self):
        for statement, params in reversed(self.undo):
            self.connection.execute(statement, params)
        self.connection.close()


@pytest.fixture
def replica_rows(replica_database):
    rows = ReplicaRows(replica_database)
    yield rows
    rows.close()


def login(client, user):
    """Logged in, with this address already observed: no IP observation is written (and pins) on the first page."""
    client.force_login(user)
    session = client.session
    session["_ip_observed"] = {"ip": "127.0.0.1", "at": time.time()}
    session.save()


@pytest.fixture
def replica_elsewhere():
    """Point the `replica` alias at another server for one test (a fresh connection, outside the test's transaction)."""
    original = connections["replica"]

    def point(**changes):
        wrapper = original.__class__({**original.settings_dict, **changes}, alias="replica")
        connections["replica"] = wrapper
        return wrapper

    yield point
    current = connections["replica"]
    if current is not original:
        current.close()
        connections["replica"] = original
