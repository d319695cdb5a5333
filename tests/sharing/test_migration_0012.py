"""Sharing migration 0012 moves every record into the table partitioned by month and back: on a populated database,
the records, each client's pages and the id sequence are the same after it as before."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from accounts.keyset import keyset_page, moment_parse, moment_text
from consent.models import Purpose
from sharing.models import SharingRecord
from sharing.partitions import months_back_ensure
from sharing.selectors import sharing_rows_of_client
from sharing.services import sharing_records_write, sharing_records_write_to_recipient
from tests.conftest import make_client

from .conftest import make_affiliate

BEFORE = [("sharing", "0011_processor_tallies")]
COLUMNS = ("id, client_id, affiliate_id, recipient_name, recipient_country, transfer_mechanism, purpose_id, shared_at, "
           "api_key_id, request_id, withheld_until")


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def head():
    return MigrationExecutor(connection).loader.graph.leaf_nodes("sharing")


def table() -> tuple[list, str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {COLUMNS}, fields::text FROM sharing_sharingrecord ORDER BY id")  # nosec B608
        rows = cursor.fetchall()
        cursor.execute("SELECT relkind FROM pg_class WHERE relname = 'sharing_sharingrecord'")
        return rows, cursor.fetchone()[0]


def pages(client) -> list:
    """Every keyset page of the portal's list, oldest cursor to the end, as the client reads them."""
    out, older = [], None
    while True:
        page = keyset_page(sharing_rows_of_client(client=client), fields=("shared_at", "id"),
                           key=lambda r: (r["shared_at"], r["id"]), size=3, older=older,
                           parse=lambda t: (moment_parse(t.split("_")[0]), int(t.split("_")[1])),
                           write=lambda v: f"{moment_text(v[0])}_{v[1]}")
        out.append(([(r["id"], r["fields"], r["shared_at"], r["recipient_name"]) for r in page.rows], page.older))
        if page.older is None:
            return out
        older = page.older


@pytest.fixture
def populated(db):
    with connection.cursor() as cursor:
        months_back_ensure(cursor, first=(timezone.now() - timedelta(days=200)).date())
    ads, partner = make_affiliate("Ads Network"), make_affiliate("Shop Partner")
    owner, other = make_client("owner@example.com"), make_client("other@example.com")
    promo = Purpose.objects.get(code="promotional-sharing")
    now = timezone.now()
    for days in range(0, 200, 9):
        sharing_records_write(affiliate=ads if days % 2 else partner, purpose=promo,
                              fields=["email", "ip_address"] if days % 2 else ["name", "shipping_address"],
                              client_ids=[owner.pk, other.pk], api_key=None, request_id=uuid.uuid4(),
                              at=now - timedelta(days=days))
    sharing_records_write_to_recipient(recipient_name="Public Security Bureau", recipient_country="CN",
                                       purpose=Purpose.objects.get(code="legal-obligation"), fields=["phone", "name"],
                                       client_ids=[owner.pk], request_id=uuid.uuid4(), at=now - timedelta(days=3),
                                       withheld_until=timezone.localdate() + timedelta(days=30))
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's pending checks, before the tables change
    return owner, other


def test_records_and_pages_are_the_same_after_the_migration_back_and_forward(populated):
    owner, other = populated
    rows, kind = table()
    assert kind == "p" and len(rows) == 2 * 23 + 1
    before_pages = [pages(owner), pages(other)]

    migrate(BEFORE)
    old_rows, old_kind = table()
    assert old_kind == "r"
    assert [r[:-1] for r in old_rows] == [r[:-1] for r in rows]
    assert {r[-1] for r in old_rows} == {'["email", "ip_address"]', '["name", "shipping_address"]', '["name", "phone"]'}
    with connection.cursor() as cursor:  # one more, written as the old table had them
        cursor.execute("INSERT INTO sharing_sharingrecord (client_id, affiliate_id, recipient_name, recipient_country, "
                       "transfer_mechanism, purpose_id, fields, shared_at) SELECT client_id, affiliate_id, recipient_name, "
                       "recipient_country, transfer_mechanism, purpose_id, '[\"email\"]', %s FROM sharing_sharingrecord "
                       "WHERE client_id = %s AND affiliate_id IS NOT NULL LIMIT 1 RETURNING id",
                       [timezone.now() - timedelta(days=400), other.pk])
        written_old = cursor.fetchone()[0]
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

    migrate([head()[0]])
    new_rows, new_kind = table()
    assert new_kind == "p"
    assert [r[:-1] for r in new_rows if r[0] != written_old] == [r[:-1] for r in rows]
    assert [pages(owner)] == [before_pages[0]]
    assert SharingRecord.objects.get(pk=written_old).fields == ["email"]  # in the month made for it (the oldest)
    assert pages(other)[-1][0][-1][0] == written_old  # the oldest, on the last page
    sharing_records_write(affiliate=SharingRecord.objects.get(pk=written_old).affiliate, purpose=Purpose.objects.get(
        code="promotional-sharing"), fields=["email"], client_ids=[other.pk], api_key=None, request_id=uuid.uuid4(),
        at=timezone.now())
    assert SharingRecord.objects.order_by("-id").first().id > written_old  # the sequence went on


def test_the_portal_page_can_read_the_newest_records_of_every_month_through_its_key_without_sorting(populated):
    owner, _ = populated
    sql, params = sharing_rows_of_client(client=owner)[:26].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE sharing_sharingrecord")
        # Few rows here: the planner would rather sort them. Without sorts and sequential scans, the page can still
        # be read in order -- through each month's key, merged -- as it is at scale (docs/performance.md's EXPLAIN).
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(f"EXPLAIN {sql}", params)  # nosec B608  # the ORM's own query
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Merge Append" in plan and "Limit" in plan and "Sort  (" not in plan
    assert "Index Scan Backward using sharing_sharingrecord_y" in plan
