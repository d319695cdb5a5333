"""Issue #9, benchmark 3: consent writes.

N synthetic clients, each with its signup defaults in the ledger (`consent_defaults_bulk_record`). Then 8
writer *processes* (8 gunicorn-style workers; threads would share one GIL on a 2-core machine) call
`consent_record` from the portal channel for random clients and random withdrawable purposes, each writer
toggling the state it last knew (so nearly every call is a real change; a call that finds the state already as
asked records nothing, as the portal promises, and is counted as a call but not as an event). Then
`verify_ledger` runs over the whole ledger: its time and its outcome.

Target (issue #9): >= 1,000 ledger events/s with every chain intact.
"""

import io
import json
import os
import sys
import time

from bench.harness import record

WRITERS = 8
FULL = {"clients": 20_000, "calls_per_writer": 1_000, "writers": WRITERS}
QUICK = {"clients": 2_000, "calls_per_writer": 250, "writers": WRITERS}
DATABASE = "fulfillmen_bench_consent_b"


def run(quick: bool) -> list[dict]:
    from bench.workers import bench_database, child_run

    scale = QUICK if quick else FULL
    with bench_database(DATABASE) as url:
        result = child_run("bench.consent_writes", database_url=url, args=scale, env={"REDIS_URL": ""})
    events, seconds = result["events"], result["seconds"]
    common = {"clients": scale["clients"], "writers": scale["writers"], "channel": "portal"}
    return [
        record("consent.events_per_s", events / seconds, "events/s", events, target=">= 1000",
               met=events / seconds >= 1000, seconds=round(seconds, 3), calls=result["calls"],
               calls_per_s=round(result["calls"] / seconds, 1), unchanged=result["calls"] - events - result["errors"],
               errors=result["errors"], error_samples=result["error_samples"],
               statements_per_call=round(result["statements"] / result["calls"], 2),
               writers_cpu_ms_per_call=round(1000 * result["writers_cpu_seconds"] / result["calls"], 2),
               machine_busy_share=round(result["machine_busy_seconds"] / max(result["machine_cpu_seconds"], 1e-9), 3),
               postgres_cpu_ms_per_call=round(1000 * result["postgres_cpu_seconds"] / result["calls"], 2),
               other_cpu_ms_per_call=round(1000 * (result["machine_busy_seconds"] - result["writers_cpu_seconds"]
                                                   - result["postgres_cpu_seconds"]) / result["calls"], 2), **common),
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


def _child(args: dict) -> dict:
    import multiprocessing
    import queue
    import resource

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from accounts.demo import synthetic_clients_create
    from accounts.models import Client
    from bench.workers import BackendCpu, machine_cpu
    from consent.bulk import consent_defaults_bulk_record
    from consent.models import (
        POLICY_ACCEPTANCE,
        ConsentChain,
        ConsentEvent,
        ConsentState,
        LegalBasis,
        Purpose,
    )

    synthetic_clients_create(count=args["clients"], seed=9, on_batch=lambda made: consent_defaults_bulk_record(clients=made))
    purposes = list(Purpose.objects.filter(legal_basis=LegalBasis.CONSENT, withdrawable=True).exclude(code=POLICY_ACCEPTANCE))
    clients = list(Client.objects.only("id", "public_id"))
    known = {(c, p): g for c, p, g in ConsentState.objects.values_list("client_id", "purpose_id", "granted")}
    before = ConsentEvent.objects.count()
    connection.close()  # each forked writer opens its own connection

    postgres = BackendCpu(connection.settings_dict["NAME"])
    busy_before = machine_cpu()
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(args["writers"]), context.Queue()
    writers = [context.Process(target=_writer, args=(n, clients, purposes, known, args["calls_per_writer"], barrier, results))
               for n in range(args["writers"])]
    for writer in writers:
        writer.start()
    outcomes = []
    while len(outcomes) < args["writers"]:
        postgres.sample()
        try:
            outcomes.append(results.get(timeout=0.1))
        except queue.Empty:
            if not any(writer.is_alive() for writer in writers) and results.empty():
                raise RuntimeError("a writer died without a result") from None
    postgres_seconds = postgres.seconds()
    postgres.close()
    for writer in writers:
        writer.join()
    busy_after = machine_cpu()
    writers_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds = max(o["ended"] for o in outcomes) - min(o["started"] for o in outcomes)
    created = sum(o["created"] for o in outcomes)
    after = ConsentEvent.objects.count()

    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    try:
        call_command("verify_ledger", stdout=out, stderr=err)
        intact = True
    except SystemExit:
        intact = False
    verify_seconds = time.perf_counter() - started
    return {"events": after - before, "reported_created": created, "calls": args["writers"] * args["calls_per_writer"],
            "errors": sum(o["errors"] for o in outcomes), "error_samples": [x for o in outcomes for x in o["samples"]][:5],
            "seconds": seconds, "verify_seconds": verify_seconds, "intact": intact and created == after - before,
            "verify_output": (out.getvalue() + err.getvalue()).strip().splitlines()[-1:],
            "ledger_events": after, "ledger_chains": ConsentChain.objects.count(),
            "statements": sum(o["statements"] for o in outcomes),
            "writers_cpu_seconds": writers_cpu.ru_utime + writers_cpu.ru_stime, "postgres_cpu_seconds": postgres_seconds,
            "machine_busy_seconds": busy_after[0] - busy_before[0], "machine_cpu_seconds": busy_after[1] - busy_before[1]}



if __name__ == "__main__" and sys.argv[1:2] == ["--child"]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fulfillmen.settings")
    print(json.dumps(_child(json.loads(sys.argv[2]))))
