"""Issue #9, benchmark 2: amendment fan-out.

Publish a policy version to N clients x 2 channels (every synthetic client has an email and a mobile number),
with the in-memory email (`memorymail://`, Django's locmem backend: each message is still built as MIME) and SMS
(`memory:`) transports, through a real Celery worker (prefork, concurrency 2) on Redis.

Measured: deliveries per second from the call of `policy_publish` to the last delivery marked sent (its
`sent_at`, so the polling interval does not count), and SQL statements per delivery: every statement the worker
processes executed (counted by `bench.workers`) plus those of `policy_publish` itself, divided by deliveries.
Also reported, per delivery: the worker processes' CPU, PostgreSQL's CPU (the benchmark database's backends) and
the Redis server's CPU (the whole server: anything else using it at the time counts too).
Target (issue #9): >= 5,000 deliveries/s and well under one statement per delivery.

Scaling (issue #20): the same publication (a new version each time, to the same clients) sent by a worker of 1, 2 and
4 pool processes, with as many senders (`NOTICE_PARALLEL_SENDERS`); order 1, 2, 4, 2, 1, medians. Workers on more
machines are more pool processes on one broker and one database: the same senders claim the same chunks. Target: 2
processes >= 1.7x one. This machine has 2 cores for the worker, PostgreSQL and Redis together, so 4 cannot do more.
"""

import json
import os
import sys
import time

from bench.harness import record

N_FULL = 100_000
N_QUICK = 5_000
SCALING = (1, 2, 4, 2, 1)
TARGET_TWO_OVER_ONE = 1.7
DATABASE = "fulfillmen_bench_fanout_b"


def run(quick: bool) -> list[dict]:
    from bench.workers import REDIS, bench_database, child_run

    n = N_QUICK if quick else N_FULL
    with bench_database(DATABASE) as url:
        env = {"REDIS_URL": REDIS, "EMAIL_URL": "memorymail://", "SMS_URL": "memory:"}
        result = child_run("bench.fanout", database_url=url, args={"clients": n}, env=env)
        scaling = [child_run("bench.fanout", database_url=url, args={"clients": n, "concurrency": k, "existing": True,
                                                                     "label": f"bench-9.{i + 1}"},
                             env={**env, "NOTICE_PARALLEL_SENDERS": str(k)}) for i, k in enumerate(SCALING)]
    deliveries, worker = result["deliveries"], result["worker"]
    common = {"clients": n, "channels": 2, "worker": "celery prefork, concurrency 2, Redis broker",
              "transports": "memorymail:// + memory:"}
    return [
        record("fanout.deliveries_per_s", deliveries / result["seconds"], "deliveries/s", deliveries,
               target=">= 5000", met=deliveries / result["seconds"] >= 5000, seconds=round(result["seconds"], 3),
               publish_seconds=round(result["publish_seconds"], 3), all_sent=result["all_sent"],
               machine_busy_share=result["machine_busy_share"],
               sql_share_of_task_time=round(worker["sql_seconds"] / worker["task_seconds"], 3),
               worker_cpu_us_per_delivery=round(1e6 * worker["task_cpu_seconds"] / deliveries, 1),
               postgres_cpu_us_per_delivery=round(1e6 * result["postgres_cpu_seconds"] / deliveries, 1),
               redis_server_cpu_us_per_delivery=round(1e6 * result["redis_cpu_seconds"] / deliveries, 1),
               redis_commands_per_delivery=round(worker.get("redis_commands", 0) / deliveries, 3), **common),
        *_scaling(scaling, n),
        record("fanout.queries_per_delivery", result["statements"] / deliveries, "queries/delivery", deliveries,
               target="< 1 (well under)", met=result["statements"] / deliveries < 1,
               statements=int(result["statements"]), publish_statements=result["publish_statements"],
               worker_counts=result["worker"], **common),
    ]


def _scaling(runs: list[dict], n: int) -> list[dict]:
    import statistics

    rates = {}
    for k, run_ in zip(SCALING, runs, strict=True):
        assert run_["all_sent"], f"not every delivery was sent with {k} processes"
        rates.setdefault(k, []).append(run_["deliveries"] / run_["seconds"])
    median = {k: statistics.median(v) for k, v in rates.items()}
    out = [record(f"fanout: {k} worker process{'es' if k > 1 else ''}", median[k], "deliveries/s", runs[0]["deliveries"],
                  samples=[round(x, 1) for x in rates[k]], ratio=round(median[k] / median[1], 3),
                  ratio_meaning="deliveries/s / one process's", clients=n, senders=k) for k in sorted(median)]
    two = median[2] / median[1]
    out.append(record("fanout scaling: 2 processes / 1", two, "x", runs[0]["deliveries"], ours=round(median[2], 1),
                      theirs=round(median[1], 1), ratio=round(two, 3), target=f">= {TARGET_TWO_OVER_ONE}",
                      met=two >= TARGET_TWO_OVER_ONE, order=list(SCALING)))
    return out


# --- the child process: Django set up against the benchmark database --------------------------------------------

def _child(args: dict) -> dict:
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from accounts.demo import synthetic_clients_create
    from amendments.models import NoticeDelivery
    from amendments.services import notice_period, policy_draft_save, policy_publish
    from bench.workers import BackendCpu, CountingWorker, machine_cpu

    clients = args["clients"]
    if not args.get("existing"):
        synthetic_clients_create(count=clients, seed=9)
    connection.close()
    worker = CountingWorker(concurrency=args.get("concurrency", 2)).start()
    try:
        version = policy_draft_save(label=args.get("label", "bench-9.0"), summary="Benchmark amendment.",
                                    body_en="Benchmark text.", is_material=False)
        publish_statements = []
        postgres = BackendCpu(connection.settings_dict["NAME"])
        busy_before, redis_before = machine_cpu(), _redis_cpu()
        started_at = timezone.now()
        started = time.perf_counter()
        with connection.execute_wrapper(lambda ex, sql, p, m, c: publish_statements.append(1) or ex(sql, p, m, c)):
            policy_publish(version=version, effective_at=started_at + notice_period(material=False), now=started_at)
        publish_seconds = time.perf_counter() - started
        deliveries = NoticeDelivery.objects.filter(version=version).count()
        deadline = time.monotonic() + 1200
        open_ = NoticeDelivery.objects.filter(version=version, status__in=["queued", "claimed"])
        while open_.exists() and time.monotonic() < deadline:
            for _ in range(5):
                postgres.sample()
                time.sleep(0.1)
        # Each sender claims once more, finds nothing and ends: wait for all of them to report their counts.
        while worker.counts().get("tasks", 0) < settings.NOTICE_PARALLEL_SENDERS and time.monotonic() < deadline:
            postgres.sample()
            time.sleep(0.1)
        postgres_seconds = postgres.seconds()
        postgres.close()
        busy_after, redis_after = machine_cpu(), _redis_cpu()
        sent = NoticeDelivery.objects.filter(version=version, status="sent")
        last = max(sent.values_list("sent_at", flat=True))
        counts = worker.counts()
    finally:
        worker.stop()
    return {"deliveries": deliveries, "seconds": (last - started_at).total_seconds(), "publish_seconds": publish_seconds,
            "all_sent": sent.count() == deliveries, "publish_statements": len(publish_statements),
            "statements": counts.get("statements", 0) + len(publish_statements),
            "worker": {k: round(v, 3) for k, v in counts.items()}, "postgres_cpu_seconds": postgres_seconds,
            "redis_cpu_seconds": redis_after - redis_before,
            "machine_busy_share": round((busy_after[0] - busy_before[0]) / (busy_after[1] - busy_before[1]), 3)}


def _redis_cpu() -> float:
    """CPU seconds of the Redis server so far (broker and marks; the whole server, so others' use counts too)."""
    from redis import Redis

    info = Redis.from_url(os.environ["REDIS_URL"]).info("cpu")
    return info["used_cpu_user"] + info["used_cpu_sys"]


if __name__ == "__main__" and sys.argv[1:2] == ["--child"]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fulfillmen.settings")
    print(json.dumps(_child(json.loads(sys.argv[2]))))
