"""Issue #9, benchmark 3: consent writes.

N synthetic clients, each with its signup defaults in the ledger (`consent_defaults_bulk_record`). Then 8
writer *processes* (8 gunicorn-style workers; threads would share one GIL on a 2-core machine) call
`consent_record` from the portal channel for random clients and random withdrawable purposes, each writer
toggling the state it last knew (so nearly every call is a real change; a call that finds the state already as
asked records nothing, as the portal promises, and is counted as a call but not as an event). Then
`verify_ledger` runs over the whole ledger: its time and its outcome.

Two floors (issue #20), the same 8 writer processes and number of calls, each call its own transaction (autocommit:
one commit, one WAL flush, as each `consent_record` call has), into scratch tables shaped like the ledger's (`LIKE`,
their indexes, no foreign keys or triggers): "insert", one plain one-row INSERT through psycopg; "rows", one prepared
statement writing the rows a consent write writes (event, personal values, state, chain head, pending leaf). The
three loops alternate, REPS times each, and the medians are compared: our events/s as a share of each floor's.

Targets: >= 1,000 ledger events/s (issue #9) and >= 50 % of the floor (issue #20), every chain intact.
"""

import json
import os
import statistics
import sys
import time

from bench.harness import ledger_verify, record

WRITERS = 8
FULL = {"clients": 20_000, "calls_per_writer": 1_000, "writers": WRITERS, "reps": 3}
QUICK = {"clients": 2_000, "calls_per_writer": 250, "writers": WRITERS, "reps": 1}
TARGET_FLOOR_SHARE = 0.5
DATABASE = "fulfillmen_bench_consent_b"


def run(quick: bool) -> list[dict]:
    from bench.workers import bench_database, child_run

    scale = QUICK if quick else FULL
    with bench_database(DATABASE) as url:
        result = child_run("bench.consent_writes", database_url=url, args=scale, env={"REDIS_URL": ""})
    ours, floor, rows_floor = result["ours"], result["floor"], result["rows_floor"]
    rate = statistics.median(r["events"] / r["seconds"] for r in ours)
    floor_rate = statistics.median(r["rows"] / r["seconds"] for r in floor)
    rows_rate = statistics.median(r["rows"] / r["seconds"] for r in rows_floor)
    mid = sorted(ours, key=lambda r: r["events"] / r["seconds"])[len(ours) // 2]  # the median run's counters
    common = {"clients": scale["clients"], "writers": scale["writers"], "channel": "portal", "reps": scale["reps"]}
    events = mid["events"]
    return [
        record("consent.events_per_s", rate, "events/s", events, target=">= 1000", met=rate >= 1000,
               seconds=round(mid["seconds"], 3), calls=mid["calls"], calls_per_s=round(mid["calls"] / mid["seconds"], 1),
               unchanged=mid["calls"] - events - mid["errors"], errors=sum(r["errors"] for r in ours),
               error_samples=mid["error_samples"], samples=[round(r["events"] / r["seconds"], 1) for r in ours],
               statements_per_call=round(mid["statements"] / mid["calls"], 2),
               writers_cpu_ms_per_call=round(1000 * mid["writers_cpu_seconds"] / mid["calls"], 2),
               machine_busy_share=round(mid["machine_busy_seconds"] / max(mid["machine_cpu_seconds"], 1e-9), 3),
               postgres_cpu_ms_per_call=round(1000 * mid["postgres_cpu_seconds"] / mid["calls"], 2),
               other_cpu_ms_per_call=round(1000 * (mid["machine_busy_seconds"] - mid["writers_cpu_seconds"]
                                                   - mid["postgres_cpu_seconds"]) / mid["calls"], 2), **common),
        record("consent writes vs plain INSERT floor", rate, "events/s", events, ours=round(rate, 1),
               theirs=round(floor_rate, 1), ours_label="consent_record events/s", theirs_label="psycopg INSERT rows/s",
               ratio=round(rate / floor_rate, 3), ratio_meaning="our events/s / the floor's rows/s (higher is better)",
               ours_samples=[round(r["events"] / r["seconds"], 1) for r in ours],
               theirs_samples=[round(r["rows"] / r["seconds"], 1) for r in floor],
               floor_postgres_cpu_ms_per_row=round(statistics.median(
                   1000 * r["postgres_cpu_seconds"] / r["rows"] for r in floor), 3),
               floor_writers_cpu_ms_per_row=round(statistics.median(
                   1000 * r["writers_cpu_seconds"] / r["rows"] for r in floor), 3),
               target=f">= {TARGET_FLOOR_SHARE:g} of the floor", met=rate / floor_rate >= TARGET_FLOOR_SHARE, **common),
        record("consent writes vs the same rows' floor", rate, "events/s", events, ours=round(rate, 1),
               theirs=round(rows_rate, 1), ours_label="consent_record events/s",
               theirs_label="one prepared psycopg statement writing event, personal values, state, chain head, leaf /s",
               ratio=round(rate / rows_rate, 3), ratio_meaning="our events/s / the same rows' floor (higher is better)",
               ours_samples=[round(r["events"] / r["seconds"], 1) for r in ours],
               theirs_samples=[round(r["rows"] / r["seconds"], 1) for r in rows_floor],
               rows_floor_share_of_insert_floor=round(rows_rate / floor_rate, 3),
               floor_postgres_cpu_ms_per_row=round(statistics.median(
                   1000 * r["postgres_cpu_seconds"] / r["rows"] for r in rows_floor), 3), **common),
        record("consent.verify_ledger_s", result["verify_seconds"], "s", result["ledger_events"],
               intact=result["intact"], met=result["intact"], verify_output=result["verify_output"],
               ledger_chains=result["ledger_chains"], events_per_s=round(result["ledger_events"] / result["verify_seconds"], 1),
               **common),
    ]


# --- the child process: Django set up against the benchmark database --------------------------------------------

def _writer(number, clients, purposes, known, calls, barrier, results):
    import random

    from django.db import connection

    from consent.models import Channel, ConsentAction
    from consent.services import consent_record

    rng = random.Random(number)
    created = errors = statements = 0
    samples = []

    def count(execute, sql, params, many, context):
        nonlocal statements
        statements += 1
        return execute(sql, params, many, context)

    connection.execute_wrappers.append(count)
    barrier.wait()
    started = time.time()
    for _ in range(calls):
        client, purpose = rng.choice(clients), rng.choice(purposes)
        granted = known.get((client.pk, purpose.pk), True)
        action = ConsentAction.WITHDRAW if granted else ConsentAction.GRANT
        try:
            _event, made = consent_record(client=client, purpose=purpose, action=action, channel=Channel.PORTAL)
        except Exception as exc:  # noqa: BLE001 -- counted and shown: a benchmark that hides failures measures nothing
            errors += 1
            if len(samples) < 3:
                samples.append(f"{type(exc).__name__}: {exc}"[:200])
            connection.close()
            continue
        created += made
        known[(client.pk, purpose.pk)] = action == ConsentAction.GRANT
    results.put({"created": created, "errors": errors, "samples": samples, "started": started, "ended": time.time(),
                 "statements": statements})
    connection.close()


def _floor_writer(number, url, clients, purposes, calls, kind, barrier, results):
    """A floor: `calls` transactions, each committed on its own (autocommit). "insert": one plain INSERT of a row
    shaped like a ledger event. "rows": the rows a consent write writes, in one prepared statement: the event, its
    personal values, the state (upsert), the chain head (update) and the log's pending leaf."""
    import random
    import uuid

    import psycopg

    rng = random.Random(number)
    with psycopg.connect(url, autocommit=True) as conn:
        barrier.wait()
        started = time.time()
        for i in range(calls):
            conn.execute(_FLOOR_SQL[kind], {
                "receipt_id": uuid.uuid4(), "client": rng.choice(clients), "sequence": number * 1_000_000 + i,
                "purpose": rng.choice(purposes), "action": "withdraw", "channel": "portal",
                "digest": rng.randbytes(32), "previous": rng.randbytes(32),  # bytea, as the ledger stores them
                "entry": rng.randbytes(32), "salt": "%032x" % rng.getrandbits(128)}, prepare=True)
        results.put({"rows": calls, "started": started, "ended": time.time()})


_FLOOR_TABLES = [
    f"CREATE TABLE bench_floor_{name} (LIKE {table} INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING INDEXES)"
    for name, table in [("event", "consent_consentevent"), ("personal", "consent_consenteventpersonaldata"),
                        ("state", "consent_consentstate"), ("chain", "consent_consentchain"),
                        ("leaf", "transparency_log_pendingleaf")]
] + ["ALTER TABLE bench_floor_event ALTER COLUMN id RESTART WITH 1000000000",  # above the copied states' events
     "INSERT INTO bench_floor_state SELECT * FROM consent_consentstate",
     "INSERT INTO bench_floor_chain SELECT * FROM consent_consentchain", "ANALYZE"]
_EVENT_INSERT = """INSERT INTO bench_floor_event (receipt_id, client_id, sequence, purpose_id, action, channel, occurred_at,
    recorded_at, personal_digest, previous_hash, entry_hash)
VALUES (%(receipt_id)s, %(client)s, %(sequence)s, %(purpose)s, %(action)s, %(channel)s, now(), now(), %(digest)s,
    %(previous)s, %(entry)s)"""
_FLOOR_SQL = {"insert": _EVENT_INSERT, "rows": f"""
WITH event AS ({_EVENT_INSERT} RETURNING id
), personal AS (
    INSERT INTO bench_floor_personal (event_id, salt, ip_address, user_agent, reason, evidence_reference,
        evidence_received_on, evidence_file, evidence_sha256)
    VALUES ((SELECT id FROM event), %(salt)s, NULL, '', '', '', NULL, '', '')
), state AS (
    INSERT INTO bench_floor_state (client_id, purpose_id, granted, last_event_id, changed_at)
    VALUES (%(client)s, %(purpose)s, false, (SELECT id FROM event), now())
    ON CONFLICT (client_id, purpose_id) DO UPDATE
    SET granted = EXCLUDED.granted, last_event_id = EXCLUDED.last_event_id, changed_at = EXCLUDED.changed_at
), chain AS (
    UPDATE bench_floor_chain SET length = length + 1, head_hash = %(entry)s WHERE client_id = %(client)s
), leaf AS (
    INSERT INTO bench_floor_leaf (event_id) SELECT id FROM event
)
SELECT id FROM event"""}


def _measured(database, processes, results):
    """Start `processes` (forked writers that wait at a shared barrier), collect their results; the run's counters."""
    import queue
    import resource

    from bench.workers import BackendCpu, machine_cpu

    postgres = BackendCpu(database)
    busy_before = machine_cpu()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    for process in processes:
        process.start()
    outcomes = []
    while len(outcomes) < len(processes):
        postgres.sample()
        try:
            outcomes.append(results.get(timeout=0.1))
        except queue.Empty:
            if not any(process.is_alive() for process in processes) and results.empty():
                raise RuntimeError("a writer died without a result") from None
    postgres_seconds = postgres.seconds()
    postgres.close()
    for process in processes:
        process.join()
    busy_after = machine_cpu()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return outcomes, {
        "seconds": max(o["ended"] for o in outcomes) - min(o["started"] for o in outcomes),
        "writers_cpu_seconds": (children.ru_utime + children.ru_stime) - (children_before.ru_utime + children_before.ru_stime),
        "postgres_cpu_seconds": postgres_seconds, "machine_busy_seconds": busy_after[0] - busy_before[0],
        "machine_cpu_seconds": busy_after[1] - busy_before[1]}


def _child(args: dict) -> dict:
    import multiprocessing

    import django

    django.setup()
    from django.db import connection

    from accounts.demo import synthetic_clients_create
    from accounts.models import Client
    from consent.bulk import consent_defaults_bulk_record
    from consent.models import POLICY_ACCEPTANCE, ConsentChain, ConsentEvent, ConsentState, LegalBasis, Purpose

    synthetic_clients_create(count=args["clients"], seed=9, on_batch=lambda made: consent_defaults_bulk_record(clients=made))
    purposes = list(Purpose.objects.filter(legal_basis=LegalBasis.CONSENT, withdrawable=True).exclude(code=POLICY_ACCEPTANCE))
    clients = list(Client.objects.only("id", "public_id"))
    client_ids = [c.pk for c in clients]
    with connection.cursor() as cursor:
        for statement in _FLOOR_TABLES:
            cursor.execute(statement)
    purpose_ids = [p.pk for p in purposes]
    database = connection.settings_dict["NAME"]
    url = os.environ["DATABASE_URL"]
    context = multiprocessing.get_context("fork")
    writers, calls = args["writers"], args["calls_per_writer"]
    ours, floors = [], {"insert": [], "rows": []}
    for rep in range(args["reps"]):
        for side in (("ours", "insert", "rows") if rep % 2 == 0 else ("rows", "insert", "ours")):
            barrier, results = context.Barrier(writers), context.Queue()
            if side == "ours":
                known = {(c, p): g for c, p, g in ConsentState.objects.values_list("client_id", "purpose_id", "granted")}
                before = ConsentEvent.objects.count()
                connection.close()  # each forked writer opens its own connection
                processes = [context.Process(target=_writer, args=(n, clients, purposes, known, calls, barrier, results))
                             for n in range(writers)]
                outcomes, counters = _measured(database, processes, results)
                created = sum(o["created"] for o in outcomes)
                events = ConsentEvent.objects.count() - before
                ours.append({**counters, "events": events, "consistent": created == events, "calls": writers * calls,
                             "errors": sum(o["errors"] for o in outcomes),
                             "error_samples": [x for o in outcomes for x in o["samples"]][:5],
                             "statements": sum(o["statements"] for o in outcomes)})
            else:
                connection.close()
                processes = [context.Process(target=_floor_writer, args=(
                    n + rep * writers + (1000 if side == "rows" else 0), url, client_ids, purpose_ids, calls, side, barrier,
                    results)) for n in range(writers)]
                _outcomes, counters = _measured(database, processes, results)
                floors[side].append({**counters, "rows": writers * calls})

    verified = ledger_verify()
    verify_seconds, intact = verified["seconds"], verified["intact"]
    return {"ours": ours, "floor": floors["insert"], "rows_floor": floors["rows"], "verify_seconds": verify_seconds,
            "intact": intact and all(r["consistent"] for r in ours),
            "verify_output": (verified["out"] + verified["err"]).strip().splitlines()[-1:],
            "ledger_events": ConsentEvent.objects.count(), "ledger_chains": ConsentChain.objects.count()}


if __name__ == "__main__" and sys.argv[1:2] == ["--child"]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fulfillmen.settings")
    print(json.dumps(_child(json.loads(sys.argv[2]))))
