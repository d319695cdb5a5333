"""How long consent migration 0013 (the ledger's hashes to `bytea`, docs/performance.md) holds the ledger locked.

`python -m bench.ledger_migration [EVENTS]` (default 1,000,000; not part of `make bench`): a database of its own
(`BENCH_LEDGER_MIGRATION_DATABASE`, default fulfillmen_bench_ledger_migration) migrated to consent 0012, EVENTS
ledger events of EVENTS / 5 clients written by INSERT … SELECT generate_series (random hashes: the migration does not
check them; the log's trigger queues every event as usual), VACUUM ANALYZE, then consent 0013 forward and back,
timed. Prints one JSON object: seconds each way, and the table's bytes per event under each layout.
"""

import json
import os
import sys
import time

from bench.harness import database_drop, database_recreate, django_env

DATABASE = os.environ.get("BENCH_LEDGER_MIGRATION_DATABASE", "fulfillmen_bench_ledger_migration")
PER_CLIENT = 5

# Raw SQL only: at consent 0012 the code's own writes (bytes for the hashes) do not fit the columns.
_CLIENTS_SQL = """
INSERT INTO accounts_client (public_id, full_name, email, phone, country, region, jurisdiction, preferred_language,
    created_at, updated_at)
SELECT gen_random_uuid(), 'Client ' || g, 'c' || g || '@bench.example', '', 'DE', '', 'eea', 'en', now(), now()
FROM generate_series(1, %(count)s) g
"""
_EVENTS_SQL = """
INSERT INTO consent_consentevent (receipt_id, client_id, sequence, purpose_id, action, channel, policy_version_id,
    occurred_at, recorded_at, recorded_by_id, idempotency_key, personal_digest, previous_hash, entry_hash)
SELECT gen_random_uuid(), c.id, s, (%(purposes)s::bigint[])[1 + (s - 1) %% cardinality(%(purposes)s::bigint[])],
    CASE WHEN random() < 0.5 THEN 'grant' ELSE 'withdraw' END, CASE WHEN s <= 4 THEN 'signup' ELSE 'portal' END, NULL,
    now() - s * interval '1 day', now() - s * interval '1 day', NULL, NULL,
    md5(random()::text) || md5(random()::text), md5(random()::text) || md5(random()::text),
    md5(random()::text) || md5(random()::text)
FROM accounts_client c CROSS JOIN generate_series(1, %(per_client)s) s ORDER BY c.id, s
"""


def _bytes_per_event(cursor) -> float:
    cursor.execute("SELECT pg_total_relation_size('consent_consentevent')::float / count(*) FROM consent_consentevent")
    return round(cursor.fetchone()[0], 1)


def main(events: int) -> dict:
    url = database_recreate(DATABASE)
    try:
        os.environ.update(django_env(url, REDIS_URL=""))  # nothing queued anywhere: no task is started here
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        from consent.models import Purpose

        call_command("migrate", verbosity=0)
        call_command("migrate", "consent", "0012", verbosity=0)
        purposes = list(Purpose.objects.filter(legal_basis="consent", parent__isnull=True).values_list("pk", flat=True))
        with connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute(_CLIENTS_SQL, {"count": events // PER_CLIENT})
            cursor.execute(_EVENTS_SQL, {"purposes": purposes, "per_client": PER_CLIENT})
            cursor.execute("SELECT count(*) FROM consent_consentevent")
            count = cursor.fetchone()[0]
            load_s = time.perf_counter() - started
        connection.close()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE consent_consentevent")
            wide = _bytes_per_event(cursor)
        started = time.perf_counter()
        call_command("migrate", "consent", "0013", verbosity=0)
        forward_s = time.perf_counter() - started
        with connection.cursor() as cursor:
            compact = _bytes_per_event(cursor)
        started = time.perf_counter()
        call_command("migrate", "consent", "0012", verbosity=0)
        backward_s = time.perf_counter() - started
        return {"events": count, "load_s": round(load_s, 1), "forward_s": round(forward_s, 1),
                "backward_s": round(backward_s, 1), "bytes_per_event_before": wide, "bytes_per_event_after": compact}
    finally:
        from django.db import connections

        connections.close_all()
        database_drop(DATABASE)


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)))
