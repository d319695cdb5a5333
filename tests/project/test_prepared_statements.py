"""The ledger's hot statements are prepared once per connection (accounts.db.prepared_cursor, issue #20), and
everything that watches Django's statements still sees them."""

from datetime import UTC

import pytest
from django.db import connection
from django.utils import timezone

from accounts.db import prepared_cursor
from consent.models import Channel, ConsentAction, Purpose
from consent.services import consent_record
from tests.conftest import make_client


def prepared_texts():
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE NOT from_sql")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db
def test_a_consent_write_prepares_its_lock_and_write_once_and_reuses_them():
    client = make_client("ca@example.com", country="US", region="US-CA")
    purpose = Purpose.objects.get(code="promotional-sharing")
    consent_record(client=client, purpose=purpose, action=ConsentAction.WITHDRAW, channel=Channel.PORTAL)
    after_one = prepared_texts()
    assert any("FROM consent_consentchain" in s and "FOR UPDATE" in s for s in after_one)
    assert any("INSERT INTO consent_consentevent" in s for s in after_one)
    consent_record(client=client, purpose=purpose, action=ConsentAction.GRANT, channel=Channel.PORTAL)
    consent_record(client=client, purpose=purpose, action=ConsentAction.WITHDRAW, channel=Channel.PORTAL)
    assert len(prepared_texts()) == len(after_one)  # the same statements again, not new ones


@pytest.mark.django_db
def test_statement_counters_and_the_query_log_see_prepared_statements(django_assert_num_queries):
    seen = []
    with connection.execute_wrapper(lambda execute, sql, params, many, context: seen.append(sql) or execute(
            sql, params, many, context)), django_assert_num_queries(1) as queries, prepared_cursor() as cursor:
        cursor.execute("SELECT %s::int + 1", [41])
        assert cursor.fetchone() == (42,)
    assert seen == ["SELECT %s::int + 1"]
    assert queries.captured_queries[0]["sql"] == "SELECT %s::int + 1"


@pytest.mark.django_db
def test_a_prepared_statement_reads_timestamps_as_django_does():
    now = timezone.now()
    with prepared_cursor() as cursor:
        for _ in range(3):  # before and after it is prepared
            cursor.execute("SELECT %s::timestamptz", [now])
            value = cursor.fetchone()[0]
            assert value == now and value.utcoffset() == UTC.utcoffset(None)
    with connection.cursor() as plain:
        plain.execute("SELECT %s::timestamptz", [now])
        assert plain.fetchone()[0].tzinfo == value.tzinfo


@pytest.mark.django_db
def test_bad_input_to_a_prepared_statement_raises_djangos_error_and_the_connection_goes_on():
    from django.db import DataError, transaction

    with pytest.raises(DataError), transaction.atomic(), prepared_cursor() as cursor:
        cursor.execute("SELECT %s::int", ["not a number"])
    with prepared_cursor() as cursor:
        cursor.execute("SELECT %s::int", ["7"])
        assert cursor.fetchone() == (7,)
