"""Issue #17, Performance: the public consent log (one RFC 6962 tree over every ledger event) at 1,000,000 leaves.

1. Building: synthetic clients (the bulk helper), then their ledger events in steps of 100,000 — real per-client
   chains, entry hashes from consent.ledger, personal values, states and chain heads, written with COPY so the
   `consent_event_enters_log` trigger queues every one — and after each step `log_sequence()` (timed: leaves/s) and
   `checkpoint_publish()` (timed), so ten checkpoints are published along the way.
2. Proof serving at 1M leaves over HTTP, gunicorn as production (3 sync workers): inclusion proofs for random
   indexes in the latest published tree, consistency proofs between random published pairs; p50/p95/p99 for one
   client asking one request after another, alternating with the trivial view of the same server, beside the
   PostgreSQL floor (one SELECT of the same stored nodes by primary key, on an open connection); then 20 concurrent
   users as in the portal-pages benchmark (req/s as a share of the trivial view's).
3. `log_verify()` over the whole log, alternating with its floor: reading the 1M leaves (with their events' entry
   hashes) and the ~2M stored nodes out of PostgreSQL (COPY).
4. Consent writes with 8 writer processes (consent_writes' writer loop, portal channel) with the trigger present
   and disabled (`ALTER TABLE ... DISABLE TRIGGER`, in this scratch database only), alternating: the trigger's cost.

Targets (issue #17): proofs p95 < 20 ms at 1M leaves; verify_log < 60 s; writes >= 1,000 events/s with the trigger.
`python -m bench.consent_log build|verify|writes '<json>'` are the Django child processes.
"""

import json
import random
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from bench.harness import child_json, compare, database_drop, database_recreate, django_env, gunicorn, migrate, record

FULL = {"events": 1_000_000, "per_client": 20, "step": 100_000, "http_seconds": 5.0, "reps": 3, "verify_reps": 3,
        "write_reps": 5, "calls_per_writer": 500}
QUICK = {"events": 20_000, "per_client": 20, "step": 4_000, "http_seconds": 2.0, "reps": 2, "verify_reps": 1,
         "write_reps": 1, "calls_per_writer": 150}
DATABASE = "fulfillmen_bench_consent_log"
REDIS_URL = "redis://127.0.0.1:6379/12"
TRIVIAL = "/bench/trivial/"
USERS, PROCESSES = 20, 4  # the portal-pages load
WRITERS = 8
TARGET_P95_MS, TARGET_VERIFY_S, TARGET_WRITES = 20.0, 60.0, 1000.0


def run(quick: bool) -> list[dict]:
    scale = QUICK if quick else FULL
    with tempfile.TemporaryDirectory(prefix="bench-consent-log-") as tmp:
        url = database_recreate(DATABASE)
        try:
            env = django_env(url, REDIS_URL=REDIS_URL, LOG_WITNESS_FILE=str(Path(tmp) / "witness.jsonl"))
            migrate(env)
            built = child_json("bench.consent_log", "build", json.dumps(scale), env=env)
            results = _build_results(built, scale)
            with gunicorn(env) as base:
                results += _proof_results(base, url, built, scale)
            verify = child_json("bench.consent_log", "verify", json.dumps(scale), env=env)
            results.append(_verify_result(verify))
            writes = child_json("bench.consent_log", "writes", json.dumps(scale), env=env)
            results.append(_writes_result(writes, scale))
            return results
        finally:
            database_drop(DATABASE)


# --- 1. building -----------------------------------------------------------------------------------------------

def _build_results(built: dict, scale: dict) -> list[dict]:
    steps, size = built["steps"], built["size"]
    sequence_s = sum(s["sequence_s"] for s in steps)
    publish = [s["publish_s"] for s in steps]
    rate = [round(s["leaves"] / s["sequence_s"], 1) for s in steps]
    return [
        record("consent log: events written (COPY, trigger on)", built["events"] / built["write_s"], "events/s",
               built["events"], seconds=round(built["write_s"], 2), clients=built["clients"],
               per_client=scale["per_client"], hashing_s=round(built["hash_s"], 2)),
        record("consent log: log_sequence", size / sequence_s, "leaves/s", size, seconds=round(sequence_s, 2),
               steps=len(steps), step_leaves=scale["step"], leaves_per_s_by_step=rate, nodes=built["nodes"]),
        record("consent log: checkpoint_publish (after sequencing)", publish[-1], "s", size,
               median_s=round(statistics.median(publish), 4), by_step_s=[round(x, 4) for x in publish],
               checkpoints=built["checkpoints"]),
    ]


def _build(scale: dict) -> dict:
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from accounts.demo import synthetic_clients_create
    from accounts.models import Client
    from transparency_log.checkpoints import checkpoint_publish
    from transparency_log.models import LogNode, SignedCheckpoint
    from transparency_log.tree import log_sequence

    clients_count = scale["events"] // scale["per_client"]
    synthetic_clients_create(count=clients_count, seed=17)
    clients = list(Client.objects.order_by("id").only("id", "public_id", "jurisdiction"))
    per_step = scale["step"] // scale["per_client"]
    steps, write_s, hash_s = [], 0.0, 0.0
    for start in range(0, len(clients), per_step):
        started = time.perf_counter()
        hashed = _events_write(clients[start:start + per_step], scale["per_client"], timezone.now())
        write_s += time.perf_counter() - started
        hash_s += hashed
        leaves_before = steps[-1]["size"] if steps else 0
        t0 = time.perf_counter()
        size = log_sequence()
        t1 = time.perf_counter()
        checkpoint_publish()
        steps.append({"size": size, "leaves": size - leaves_before, "sequence_s": t1 - t0,
                      "publish_s": time.perf_counter() - t1})
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # what autovacuum leaves a minute after such a load
    return {"clients": len(clients), "events": steps[-1]["size"], "size": steps[-1]["size"], "steps": steps,
            "write_s": write_s, "hash_s": hash_s, "nodes": LogNode.objects.count(),
            "checkpoints": list(SignedCheckpoint.objects.order_by("tree_size").values_list("tree_size", flat=True))}


def _events_write(clients, per_client: int, now) -> float:
    """`per_client` events for each of `clients` (which have none yet): sign-up defaults, then changes of mind from
    the portal, alternating purposes; chains, states and heads as the services leave them. Returns hashing seconds."""
    import uuid

    from django.db import transaction

    from accounts.bulk import ids_reserve, rows_insert
    from amendments.selectors import policy_in_force
    from consent import ledger
    from consent.bulk import CHAIN_FIELDS, EVENT_FIELDS, PERSONAL_FIELDS, STATE_FIELDS
    from consent.models import (
        NOT_A_CHOICE,
        Channel,
        ConsentAction,
        ConsentChain,
        ConsentDefaultRule,
        ConsentEvent,
        ConsentEventPersonalData,
        ConsentState,
        LegalBasis,
        Purpose,
    )
    from consent.services import default_granted

    version = policy_in_force(at=now)
    label = version.label if version else ""
    purposes = list(Purpose.objects.filter(legal_basis=LegalBasis.CONSENT).exclude(code__in=NOT_A_CHOICE).order_by("id"))
    rules = list(ConsentDefaultRule.objects.all())
    digest_args = {"ip_address": None, "user_agent": "", "reason": "", "evidence_reference": "",
                   "evidence_received_on": None, "evidence_sha256": ""}
    started = time.perf_counter()
    with transaction.atomic():
        event_ids = iter(ids_reserve(ConsentEvent, len(clients) * per_client))
        state_ids = iter(ids_reserve(ConsentState, len(clients) * len(purposes)))
        events, personal, states, chains = [], [], [], []
        for client in clients:
            previous = ledger.GENESIS_HASH
            granted = {p.pk: default_granted(purpose=p, jurisdiction=client.jurisdiction, rules=rules) for p in purposes}
            last = {}
            for sequence in range(1, per_client + 1):
                purpose = purposes[(sequence - 1) % len(purposes)]
                signup = sequence <= len(purposes)
                if not signup:
                    granted[purpose.pk] = not granted[purpose.pk]
                action = ConsentAction.GRANT if granted[purpose.pk] else ConsentAction.WITHDRAW
                channel = Channel.SIGNUP if signup else Channel.PORTAL
                salt, receipt_id, event_id = ledger.new_salt(), uuid.uuid4(), next(event_ids)
                digest = ledger.personal_digest(salt=salt, **digest_args)
                entry = ledger.entry_hash(
                    client_public_id=client.public_id, sequence=sequence, receipt_id=receipt_id, purpose_code=purpose.code,
                    action=action, channel=channel, policy_label=label, occurred_at=now, recorded_at=now,
                    recorded_by_id=None, personal_digest=digest, previous_hash=previous)
                events.append((event_id, receipt_id, client.pk, sequence, purpose.pk, action, channel,
                               version.pk if version else None, now, now, None, None, digest, previous, entry))
                personal.append((event_id, salt, None, "", "", "", None, "", ""))
                last[purpose.pk], previous = event_id, entry
            states += [(next(state_ids), client.pk, p.pk, granted[p.pk], last[p.pk], now) for p in purposes]
            chains.append((client.pk, per_client, previous))
        hashed = time.perf_counter() - started
        rows_insert(ConsentEvent, EVENT_FIELDS, events)  # COPY: the row trigger queues each event for the log
        rows_insert(ConsentEventPersonalData, PERSONAL_FIELDS, personal)
        rows_insert(ConsentState, STATE_FIELDS, states)
        rows_insert(ConsentChain, CHAIN_FIELDS, chains)
    return hashed


# --- 2. proofs over HTTP -----------------------------------------------------------------------------------------

def _proof_requests(built: dict, count: int, seed: int) -> dict[str, list[tuple[str, list]]]:
    """(path, the stored nodes its proof reads) for random inclusion and consistency questions."""
    from transparency_log import merkle

    rng = random.Random(seed)
    size, sizes = built["size"], built["checkpoints"]
    inclusion, consistency = [], []
    for _ in range(count):
        index = rng.randrange(size)
        ranges = [(index, index + 1), *merkle.inclusion_ranges(index, size)]
        inclusion.append((f"/transparency/log/proof/inclusion?index={index}&size={size}",
                          [n for r in ranges for n in merkle.range_nodes(*r)]))
        old, new = sorted(rng.sample(sizes, 2))
        consistency.append((f"/transparency/log/proof/consistency?from={old}&to={new}",
                            [n for r in merkle.consistency_ranges(old, new) for n in merkle.range_nodes(*r)]))
    return {"inclusion": inclusion, "consistency": consistency}


def _proof_results(base: str, url: str, built: dict, scale: dict) -> list[dict]:
    import psycopg

    reps, seconds = scale["reps"], scale["http_seconds"]
    results = []
    with ProcessPoolExecutor(PROCESSES) as pool, psycopg.connect(url, autocommit=True) as conn:
        for kind, asked in _proof_requests(built, 5000, seed=17).items():
            paths, node_lists = [path for path, _ in asked], [nodes for _, nodes in asked]
            _load(pool, base, paths, 1, 1.0)  # warm-up: connections, caches
            one = _alternate({"proof": (_load, pool, base, paths, 1, seconds),
                              "trivial": (_load, pool, base, [TRIVIAL], 1, seconds), "floor": (_floor, conn, node_lists)}, reps)
            results.append(_latency_result(kind, one, built, asked, reps, seconds))
            busy = _alternate({"proof": (_load, pool, base, paths, USERS, seconds),
                               "trivial": (_load, pool, base, [TRIVIAL], USERS, seconds)}, reps)
            results.append(_load_result(kind, busy, built, reps, seconds))
    return results


def _alternate(sides: dict[str, tuple], reps: int) -> dict[str, list]:
    """Each side (function, *args) `reps` times, the order reversed every other repetition; their results by side."""
    runs = {name: [] for name in sides}
    for rep in range(reps):
        for name in (list(sides) if rep % 2 == 0 else list(sides)[::-1]):
            fn, *args = sides[name]
            runs[name].append(fn(*args))
    return runs


def _median(runs: list[dict], key: str) -> float:
    return round(statistics.median(r[key] for r in runs), 3)


def _latency_result(kind: str, runs: dict, built: dict, asked: list, reps: int, seconds: float) -> dict:
    proof, trivial, floor = runs["proof"], runs["trivial"], runs["floor"]
    p95 = _median(proof, "p95_ms")
    errors = sum(r["errors"] for r in proof + trivial)
    return record(f"consent log: {kind} proof, one client", p95, "ms p95", built["size"], reps=reps,
                  seconds_per_rep=seconds, p50_ms=_median(proof, "p50_ms"), p95_ms=p95, p99_ms=_median(proof, "p99_ms"),
                  requests=sum(r["requests"] for r in proof), trivial_p50_ms=_median(trivial, "p50_ms"),
                  trivial_p95_ms=_median(trivial, "p95_ms"), trivial_p99_ms=_median(trivial, "p99_ms"),
                  floor_p50_ms=_median(floor, "p50_ms"), floor_p95_ms=_median(floor, "p95_ms"),
                  floor_p99_ms=_median(floor, "p99_ms"), nodes_per_proof=round(statistics.mean(len(n) for _, n in asked), 1),
                  ours=p95, theirs=_median(trivial, "p95_ms"), ratio=round(p95 / _median(trivial, "p95_ms"), 3),
                  ratio_meaning="proof p95 / trivial view p95 (same server, one client)",
                  over_floor_p95=round(p95 / _median(floor, "p95_ms"), 2), checkpoints=len(built["checkpoints"]),
                  errors=errors, target=f"p95 < {TARGET_P95_MS:g} ms", met=p95 < TARGET_P95_MS and errors == 0)


def _load_result(kind: str, runs: dict, built: dict, reps: int, seconds: float) -> dict:
    proof, trivial = runs["proof"], runs["trivial"]
    rps, trivial_rps = _median(proof, "rps"), _median(trivial, "rps")
    return record(f"consent log: {kind} proof, {USERS} users", _median(proof, "p95_ms"), "ms p95", built["size"],
                  users=USERS, reps=reps, seconds_per_rep=seconds, p50_ms=_median(proof, "p50_ms"),
                  p95_ms=_median(proof, "p95_ms"), p99_ms=_median(proof, "p99_ms"), rps=rps,
                  trivial_p95_ms=_median(trivial, "p95_ms"), ours=rps, theirs=trivial_rps,
                  ratio=round(rps / trivial_rps, 3), ratio_meaning="proof req/s / trivial view req/s",
                  errors=sum(r["errors"] for r in proof + trivial))


def _percentiles(latencies: list[float]) -> dict:
    from bench.portal_pages import _pct

    ordered = sorted(latencies)
    return {f"p{q}_ms": _pct(ordered, q) * 1000 for q in (50, 95, 99)}


def _load(pool, base: str, paths: list[str], users: int, seconds: float) -> dict:
    """`users` concurrent clients for `seconds`, each asking a random one of `paths`; latencies merged."""
    processes = min(users, PROCESSES)
    per = [users // processes + (1 if i < users % processes else 0) for i in range(processes)]
    parts = list(pool.map(_users, [(base, paths, seconds, k, i) for i, k in enumerate(per)]))
    latencies = [x for part in parts for x in part["latencies"]]
    elapsed = max(part["elapsed"] for part in parts)
    return {"rps": len(latencies) / elapsed, "requests": len(latencies), "errors": sum(part["errors"] for part in parts),
            **_percentiles(latencies)}


def _users(args) -> dict:
    import threading

    from bench.portal_pages import _fetch, _request_bytes

    base, paths, seconds, count, seed = args
    requests = [_request_bytes(base + path, "") for path in paths]
    latencies, errors, lock = [], [0], threading.Lock()
    start = time.perf_counter()
    deadline = start + seconds

    def user(number):
        rng, mine = random.Random(seed * 1000 + number), []
        while time.perf_counter() < deadline:
            address, request = rng.choice(requests)
            t0 = time.perf_counter()
            try:
                ok = _fetch(address, request)
            except OSError:
                ok = False
            if ok:
                mine.append(time.perf_counter() - t0)
            else:
                with lock:
                    errors[0] += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=user, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"latencies": latencies, "errors": errors[0], "elapsed": time.perf_counter() - start}


FLOOR_SQL = "SELECT level, index, hash FROM transparency_log_lognode WHERE (level, index) IN ({})"


def _floor(conn, node_lists: list[list]) -> dict:
    """PostgreSQL alone: per question, one SELECT of the same stored nodes by primary key, on an open connection."""
    latencies = []
    for nodes in node_lists[:2000]:
        sql = FLOOR_SQL.format(", ".join(["(%s, %s)"] * len(nodes)))
        params = [x for node in nodes for x in node]
        t0 = time.perf_counter()
        rows = conn.execute(sql, params).fetchall()
        latencies.append(time.perf_counter() - t0)
        assert len(rows) == len(set(nodes)), (len(rows), nodes)  # nosec B101  # the floor reads what the proof reads
    return {"requests": len(latencies), **_percentiles(latencies)}


# --- 3. verify_log -----------------------------------------------------------------------------------------------

def _verify_result(verify: dict) -> dict:
    row = verify["compare"]
    command_s = row["ours"] + verify["ledger_s"]  # the tree (median) and the entry hashes (once): the whole command
    row.update(intact=verify["intact"], problems=verify["problems"], leaves=verify["leaves"], nodes=verify["nodes"],
               checkpoints=verify["checkpoints"], hashing_floor_s=round(verify["hashing_floor_s"], 3),
               time_over_floor=round(row["ours"] / row["theirs"], 2), ledger_recompute_s=round(verify["ledger_s"], 2),
               command_s=round(command_s, 2), target=f"< {TARGET_VERIFY_S:g} s, intact",
               met=command_s < TARGET_VERIFY_S and verify["intact"])
    return row


def _verify(scale: dict) -> dict:
    import hashlib

    import django

    django.setup()
    from django.db import connection

    from transparency_log.models import LogNode
    from transparency_log.verification import log_verify

    reports = []

    def ours():
        reports.append(log_verify())

    def floor():
        connection.ensure_connection()
        with connection.connection.cursor() as cursor:
            for sql in ("COPY (SELECT leaf.index, event.entry_hash FROM transparency_log_logleaf leaf JOIN "
                        "consent_consentevent event ON event.id = leaf.event_id ORDER BY leaf.index) TO STDOUT",
                        "COPY (SELECT level, index, hash FROM transparency_log_lognode ORDER BY level, index) TO STDOUT"):
                with cursor.copy(sql) as copy:
                    for _chunk in copy:
                        pass

    report_n = LogNode.objects.filter(level=0).count()
    row = compare("consent log: verify_log vs reading its rows", ours, floor, scale["verify_reps"], report_n, "s",
                  ours_label="verify_log", theirs_label="read floor (COPY out)")
    nodes = LogNode.objects.count()
    started = time.perf_counter()  # the SHA-256s alone: a leaf hash per leaf, a node hash per interior node
    value = b"\x00" * 32
    for _ in range(report_n):
        hashlib.sha256(b"\x00" + value).digest()
    for _ in range(nodes - report_n):
        hashlib.sha256(b"\x01" + value + value).digest()
    hashing = time.perf_counter() - started
    # `manage.py verify_log` also recomputes every entry hash from its event (verify_ledger): the whole command's time.
    from consent.verification import ledger_verify

    started = time.perf_counter()
    ledger = ledger_verify()
    ledger_s = time.perf_counter() - started
    last = reports[-1]
    return {"compare": row, "intact": all(r.intact for r in reports) and ledger.intact,
            "problems": (last.problems + ledger.problems)[:5], "leaves": last.leaves, "checkpoints": last.checkpoints,
            "nodes": nodes, "hashing_floor_s": hashing, "ledger_s": ledger_s}


# --- 4. writes with and without the trigger ----------------------------------------------------------------------

def _writes_result(writes: dict, scale: dict) -> dict:
    row = writes["compare"]
    rate = row["ours"]
    row.update(share_of_untriggered=round(rate / row["theirs"], 3), errors=writes["errors"], writers=WRITERS,
               calls_per_writer=scale["calls_per_writer"], ledger_events=writes["ledger_events"], **writes["cpu"],
               target=f">= {TARGET_WRITES:g} events/s with the trigger", met=rate >= TARGET_WRITES and writes["errors"] == 0)
    return row


def _write_round(*, trigger: bool, clients, purposes, calls: int, seed: int) -> dict:
    """consent_writes' loop: WRITERS forked processes calling consent_record; events/s and the CPU per event of the
    writers and of PostgreSQL's backends, with the log trigger enabled or disabled."""
    import multiprocessing

    from django.db import connection

    from bench.consent_writes import _measured, _writer
    from consent.models import ConsentEvent, ConsentState

    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE consent_consentevent {'ENABLE' if trigger else 'DISABLE'} TRIGGER consent_event_enters_log")
    known = {(c, p): g for c, p, g in ConsentState.objects.values_list("client_id", "purpose_id", "granted")}
    before = ConsentEvent.objects.count()
    database = connection.settings_dict["NAME"]
    connection.close()  # each forked writer opens its own connection
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(WRITERS), context.Queue()
    writers = [context.Process(target=_writer, args=(seed + n, clients, purposes, known, calls, barrier, results))
               for n in range(WRITERS)]
    outcomes, counters = _measured(database, writers, results)
    events = ConsentEvent.objects.count() - before
    return {"rate": events / counters["seconds"], "errors": sum(o["errors"] for o in outcomes),
            "postgres_ms": 1000 * counters["postgres_cpu_seconds"] / events,
            "writers_ms": 1000 * counters["writers_cpu_seconds"] / events}


def _writes(scale: dict) -> dict:
    import django

    django.setup()
    from django.db import connection

    from accounts.models import Client
    from consent.models import POLICY_ACCEPTANCE, ConsentEvent, LegalBasis, Purpose

    purposes = list(Purpose.objects.filter(legal_basis=LegalBasis.CONSENT, withdrawable=True).exclude(code=POLICY_ACCEPTANCE))
    clients = list(Client.objects.only("id", "public_id"))
    rounds = {True: [], False: []}

    def side(trigger: bool):
        def write() -> float:
            done = _write_round(trigger=trigger, clients=clients, purposes=purposes, calls=scale["calls_per_writer"],
                                seed=100 * len(rounds[trigger]) + 50 * trigger)
            rounds[trigger].append(done)
            return done["rate"]
        return write

    row = compare("consent log: consent writes, 8 writers, with vs without the log trigger", side(True), side(False),
                  scale["write_reps"], WRITERS * scale["calls_per_writer"], "events/s", ours_label="with trigger",
                  theirs_label="trigger disabled")
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE consent_consentevent ENABLE TRIGGER consent_event_enters_log")
    cpu = {f"{who}_cpu_ms_per_event_{label}": round(statistics.median(r[f"{who}_ms"] for r in rounds[trigger]), 3)
           for who in ("postgres", "writers") for trigger, label in ((True, "with_trigger"), (False, "without"))}
    return {"compare": row, "errors": sum(r["errors"] for rs in rounds.values() for r in rs), "cpu": cpu,
            "ledger_events": ConsentEvent.objects.count()}


if __name__ == "__main__":
    command, arg = sys.argv[1:3]
    print(json.dumps({"build": _build, "verify": _verify, "writes": _writes}[command](json.loads(arg)), default=str))
