"""PostgreSQL drops the API's connection in the middle of an affiliate's sync (the server process is terminated
while the page's records are being written): the affiliate gets 503 with Retry-After, nothing of that page was
sent or recorded, and the same cursor, asked again, gets the page with its records — each client recorded once."""

import pytest
from django.db import connection

from sharing.models import SharingRecord
from tests.conftest import make_client

from .conftest import bearer

pytestmark = pytest.mark.django_db(transaction=True)

CLIENTS = "/api/v1/clients/"


@pytest.fixture
def connection_killed_on_the_next_record_write():
    """Arm a trigger that terminates the writing server process, once, when the next sharing record is inserted."""
    def arm():
        with connection.cursor() as cursor:
            cursor.execute("""
                CREATE SEQUENCE test_kills;
                CREATE FUNCTION test_kill_writer() RETURNS trigger AS $$
                BEGIN
                  IF nextval('test_kills') = 1 THEN PERFORM pg_terminate_backend(pg_backend_pid()); END IF;
                  RETURN NEW;
                END; $$ LANGUAGE plpgsql;
                CREATE TRIGGER test_kill_writer BEFORE INSERT ON sharing_sharingrecord
                    FOR EACH ROW EXECUTE FUNCTION test_kill_writer();
            """)
    yield arm
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER IF EXISTS test_kill_writer ON sharing_sharingrecord; "
                       "DROP FUNCTION IF EXISTS test_kill_writer(); DROP SEQUENCE IF EXISTS test_kills;")


def test_a_dropped_connection_mid_sync_is_a_503_and_nothing_unrecorded_leaves(client, ads_key,
                                                                             connection_killed_on_the_next_record_write):
    clients = [make_client(f"ca{n}@example.com", country="US", region="US-CA", phone="+14155552671") for n in range(4)]
    params = {"purpose": "promotional-sharing", "page_size": 2}
    first = client.get(CLIENTS, params, **bearer(ads_key))
    assert first.status_code == 200 and len(first.json()["results"]) == 2
    cursor = first.json()["next_cursor"]

    connection_killed_on_the_next_record_write()
    dropped = client.get(CLIENTS, {**params, "cursor": cursor}, **bearer(ads_key))
    assert dropped.status_code == 503 and int(dropped["Retry-After"]) > 0
    assert dropped.json()["error"]["code"] == "temporarily_unavailable"
    assert not any(c.email in dropped.content.decode() for c in clients)
    assert SharingRecord.objects.count() == 2  # the first page's, nothing of the second

    again = client.get(CLIENTS, {**params, "cursor": cursor}, **bearer(ads_key))
    assert again.status_code == 200
    sent = {item["id"] for page in (first, again) for item in page.json()["results"]}
    assert sent == {str(c.public_id) for c in clients}
    recorded = list(SharingRecord.objects.values_list("client__public_id", flat=True))
    assert sorted(map(str, recorded)) == sorted(sent)  # every client sent is recorded, once
