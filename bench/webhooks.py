"""Issue #19: webhook fan-out. N clients withdraw promotional sharing from 20 recipients at once; each withdrawal is
20 withdrawal notices, 20 `consent.withdrawn` events and 20 deliveries, sent by a real Celery worker (prefork,
concurrency 2, Redis broker) to local receivers (bench/webhook_receiver.py: asyncio, HTTP/1.1 keep-alive, 20 ports,
one endpoint each, one request in 100 verified with the official Standard Webhooks library).

Set up, not timed: 20 affiliated companies with an approved assessment, an agreement for promotional sharing and an
endpoint each; N synthetic clients granted every recipient's consent (sign-up defaults, set-based) and held by every
recipient (sharing records). Then, measured separately:
- the writes: `consent_record` withdrawing the parent purpose for every client, from WRITERS processes, with the
  worker not consuming: seconds, statements per client, and the statements of the webhook fan-out (the events and
  delivery rows `webhooks.events.events_for_notices` writes in the withdrawal's transaction) per delivery;
- the sending: a worker started on the queued tasks drains the outbox. Deliveries/s from the first delivery recorded
  to the last (`WebhookDelivery.delivered_at`; the first batch's own rows are not counted, their time is before the
  first mark), and SQL statements per delivery, every statement of the worker processes (bench.workers).
- the floor: raw, pre-signed POSTs with urllib3 to the same receivers, from one process and from two (the worker's
  concurrency), before the writes and again after the sending; the ratio is ours / floor.
Autovacuum is off on the benchmark machine: `Autoanalyze` does its ANALYZE meanwhile, and once before the sending.
Target (issue #19): >= 2,000 deliveries/s and < 1 statement per delivery.
"""

import json
import os
import statistics
import subprocess
import sys
import time

from bench.harness import record

N_FULL, N_QUICK = 10_000, 1_000
RECIPIENTS = 20
WRITERS = 2
FLOOR_FULL, FLOOR_QUICK = 40_000, 10_000
DATABASE = "fulfillmen_bench_webhooks"
EVENTS = ["consent.withdrawn", "client.rectified", "client.erased", "agreement.changed", "policy.amended"]


def run(quick: bool) -> list[dict]:
    from bench.workers import REDIS, bench_database, child_run

    n = N_QUICK if quick else N_FULL
    args = {"clients": n, "recipients": RECIPIENTS, "writers": WRITERS, "floor_requests": FLOOR_QUICK if quick else FLOOR_FULL}
    with bench_database(DATABASE) as url:
        result = child_run("bench.webhooks", database_url=url, args=args, timeout=3600, env={
            "REDIS_URL": REDIS, "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true", "EMAIL_URL": "memorymail://", "SMS_URL": "memory:"})
    deliveries, worker, writes, rx = result["deliveries"], result["worker"], result["writes"], result["receiver"]
    rate = result["deliveries_per_s"]
    floor_1, floor_2 = result["floor"]["one_process"], result["floor"]["two_processes"]
    common = {"clients": n, "recipients": RECIPIENTS, "worker": "celery prefork, concurrency 2, Redis broker",
              "receivers": "asyncio HTTP/1.1 keep-alive, one process, 20 ports"}
    return [
        record("webhooks.deliveries_per_s", rate, "deliveries/s", deliveries, target=">= 2000", met=rate >= 2000,
               all_delivered=result["all_delivered"], attempts=result["attempts"], acknowledged=result["acknowledged"],
               seconds_first_to_last=round(result["seconds"], 3),
               seconds_from_worker_start=round(result["seconds_from_worker_start"], 3),
               received=rx["requests_of_deliveries"], duplicates=rx["duplicates"], verified=rx["verified"],
               refused=rx["refused"], refusals=rx["refusals"],
               floor_one_process_per_s=round(statistics.median(floor_1), 1), floor_one_process_samples=floor_1,
               floor_two_processes_per_s=round(statistics.median(floor_2), 1), floor_two_processes_samples=floor_2,
               share_of_floor_one_process=round(rate / statistics.median(floor_1), 3),
               share_of_floor_two_processes=round(rate / statistics.median(floor_2), 3),
               machine_busy_share=result["machine_busy_share"],
               sql_share_of_task_time=round(worker["sql_seconds"] / worker["task_seconds"], 3),
               worker_cpu_us_per_delivery=round(1e6 * worker["task_cpu_seconds"] / deliveries, 1),
               postgres_cpu_us_per_delivery=round(1e6 * result["postgres_cpu_seconds"] / deliveries, 1),
               receiver_cpu_us_per_request=round(1e6 * result["receiver_cpu_seconds"] / max(rx["requests_of_deliveries"], 1), 1),
               **common),
        record("webhooks.queries_per_delivery", worker["statements"] / deliveries, "queries/delivery", deliveries,
               target="< 1", met=worker["statements"] / deliveries < 1, statements=int(worker["statements"]),
               worker_counts=worker, **common),
        record("webhooks.withdrawal_writes_s", writes["seconds"], "s", n, writers=WRITERS,
               clients_per_s=round(n / writes["seconds"], 1), deliveries_written_per_s=round(deliveries / writes["seconds"], 1),
               statements_per_client=round(writes["statements"] / n, 2),
               fanout_statements_per_delivery=round(writes["fanout_statements"] / deliveries, 3),
               fanout_seconds_share=round(writes["fanout_seconds"] / max(writes["writer_seconds"], 1e-9), 3),
               ledger_events=writes["ledger_events"], notices=writes["notices"], errors=writes["errors"],
               tables_analyzed_meanwhile=writes["analyzed"],
               error_samples=writes["error_samples"], **common),
    ]


# --- the child process: Django set up against the benchmark database --------------------------------------------

def _world(*, clients: int, recipients: int, ports: list[int]) -> dict:
    """The recipients, their endpoints at the receivers' ports, the clients holding every consent, the records."""
    import uuid
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from accounts.demo import synthetic_clients_create
    from accounts.jurisdictions import Jurisdiction
    from accounts.models import Client
    from accounts.services import staff_user_ensure
    from consent.bulk import consent_defaults_bulk_record
    from consent.models import ConsentDefaultRule, ConsentState, Purpose
    from processing.models import ImpactAssessment
    from processing.services import impact_assessment_approve, impact_assessment_save
    from sharing.models import Affiliate, RecipientConsent
    from sharing.services import agreement_create, sharing_records_write
    from webhooks.services import endpoint_create

    purpose = Purpose.objects.get(code="promotional-sharing")
    for jurisdiction in Jurisdiction.values:  # opt-out everywhere: every client starts granted to every recipient
        ConsentDefaultRule.objects.update_or_create(jurisdiction=jurisdiction, purpose=purpose,
                                                    defaults={"granted_by_default": True, "note": "benchmark"})
    assessor, approver = (staff_user_ensure(email=f"{who}@bench.example", password=f"{who}-bench-pass",
                                            groups=["Privacy officers"]) for who in ("assessor", "approver"))
    text = dict(scope="Benchmark.", necessity="Benchmark.", risks="Benchmark.", measures="Benchmark.",
                conclusion="Benchmark only.", review_due=timezone.localdate() + timedelta(days=30))
    if purpose.impact_assessment_required:
        impact_assessment_approve(approver=approver, assessment=impact_assessment_save(
            actor=assessor, assessment=ImpactAssessment(purpose=purpose, **text)))
    affiliates, secrets = [], {}
    for number, port in enumerate(ports[:recipients], start=1):
        affiliate = Affiliate.objects.create(
            name=f"Bench Recipient {number:02}", kind=Affiliate.Kind.AFFILIATED_COMPANY, country="CN",
            contact_name="Bench", contact_email=f"r{number}@bench.example", address=f"{number} Bench Road, CN",
            rights_contact=f"https://r{number}.bench.example/privacy", transfer_mechanism=Affiliate.TransferMechanism.NONE)
        impact_assessment_approve(approver=approver, assessment=impact_assessment_save(
            actor=assessor, assessment=ImpactAssessment(recipient=affiliate, **text)))
        agreement_create(affiliate=affiliate, purpose=purpose, fields=["email", "ip_address"],
                         valid_from=timezone.now() - timedelta(days=1), reference=f"BENCH-{number}")
        _endpoint, secret = endpoint_create(affiliate=affiliate, url=f"http://127.0.0.1:{port}/hooks", events=EVENTS)
        affiliates.append(affiliate)
        secrets[port] = secret
    synthetic_clients_create(count=clients, seed=19, on_batch=lambda made: consent_defaults_bulk_record(clients=made))
    ids = list(Client.objects.order_by("pk").values_list("pk", flat=True))
    at = timezone.now() - timedelta(minutes=5)
    for affiliate in affiliates:
        sharing_records_write(affiliate=affiliate, purpose=purpose, fields=["email", "ip_address"], client_ids=ids,
                              api_key=None, request_id=uuid.uuid4(), at=at)
    children = RecipientConsent.objects.filter(purpose=purpose).values("consent_purpose_id")
    granted = ConsentState.objects.filter(purpose_id__in=children, granted=True).count()
    assert granted == clients * recipients, f"{granted} per-recipient consents granted, not {clients * recipients}"
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return {"purpose_id": purpose.pk, "secrets": secrets}


def _writer(number, client_ids, purpose_id, barrier, results):
    from django.db import connection

    from accounts.models import Client
    from consent.models import Channel, ConsentAction, Purpose
    from consent.services import consent_record
    from sharing.notice_hooks import notices_created_register
    from webhooks.events import events_for_notices

    tally = {"statements": 0, "fanout_statements": 0, "fanout_seconds": 0.0, "in_fanout": False}

    def count(execute, sql, params, many, context):
        tally["statements"] += 1
        tally["fanout_statements"] += tally["in_fanout"]
        return execute(sql, params, many, context)

    def fanout(notice_ids):  # the webhooks hook itself, timed and its statements told apart
        tally["in_fanout"], started = True, time.perf_counter()
        try:
            events_for_notices(notice_ids)
        finally:
            tally["in_fanout"] = False
            tally["fanout_seconds"] += time.perf_counter() - started

    notices_created_register(fanout)
    purpose = Purpose.objects.get(pk=purpose_id)
    clients = list(Client.objects.filter(pk__in=client_ids).order_by("pk"))
    errors, samples = 0, []
    connection.execute_wrappers.append(count)
    barrier.wait()
    started = time.time()
    for client in clients:
        try:
            consent_record(client=client, purpose=purpose, action=ConsentAction.WITHDRAW, channel=Channel.PORTAL)
        except Exception as exc:  # noqa: BLE001 -- counted and shown: a benchmark that hides failures measures nothing
            errors += 1
            if len(samples) < 3:
                samples.append(f"{type(exc).__name__}: {exc}"[:200])
    ended = time.time()
    connection.execute_wrappers.remove(count)
    results.put({"started": started, "ended": ended, "errors": errors, "samples": samples,
                 "statements": tally["statements"], "fanout_statements": tally["fanout_statements"],
                 "fanout_seconds": tally["fanout_seconds"]})
    connection.close()


def _collect(processes, results, tick=lambda: None) -> list[dict]:
    """Each child process's result; a process that dies without one stops the benchmark (its error is on stderr).
    `tick` runs every second meanwhile."""
    import queue

    outcomes = []
    while len(outcomes) < len(processes):
        tick()
        try:
            outcomes.append(results.get(timeout=1))
        except queue.Empty:
            if sum(p.is_alive() for p in processes) < len(processes) - len(outcomes) and results.empty():
                for p in processes:
                    p.kill()
                raise RuntimeError("a child process died without a result") from None
    for process in processes:
        process.join()
    return outcomes


def _say(message: str) -> None:
    print(f"[webhooks bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Autoanalyze:
    """What autovacuum would do, here where it is off (`autovacuum = off` on this machine): ANALYZE every table
    changed by more than its default threshold (50 rows + 10 %), every PERIOD seconds (autovacuum's naptime is 60 s
    by default). Without it the tables the withdrawals fill stay "empty" to the planner, and the foreign-key checks
    at each commit (cached plans) scan them whole: the writes slow down with the square of the rows."""

    PERIOD = 10.0
    CHANGED = ("SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid "
               "WHERE s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0) ORDER BY s.relname")

    def __init__(self):
        import psycopg

        self.conn = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
        self.last, self.runs = time.monotonic(), 0

    def tick(self) -> None:
        if time.monotonic() - self.last >= self.PERIOD:
            self.now()

    def now(self) -> None:
        from psycopg import sql

        for (table,) in self.conn.execute(self.CHANGED).fetchall():
            self.conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))
            self.runs += 1
        self.last = time.monotonic()

    def close(self) -> None:
        self.conn.close()


def _writes(*, purpose_id: int, writers: int) -> dict:
    import multiprocessing

    from django.db import connection

    from accounts.models import Client
    from consent.models import ConsentEvent
    from sharing.models import WithdrawalNotice

    ids = list(Client.objects.order_by("pk").values_list("pk", flat=True))
    events_before = ConsentEvent.objects.count()
    connection.close()  # each forked writer opens its own connection
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(writers), context.Queue()
    processes = [context.Process(target=_writer, args=(n, ids[n::writers], purpose_id, barrier, results))
                 for n in range(writers)]
    for process in processes:
        process.start()
    analyzer = Autoanalyze()
    outcomes = _collect(processes, results, tick=analyzer.tick)
    analyzer.close()
    return {"analyzed": analyzer.runs, "seconds": max(o["ended"] for o in outcomes) - min(o["started"] for o in outcomes),
            "writer_seconds": sum(o["ended"] - o["started"] for o in outcomes),
            "statements": sum(o["statements"] for o in outcomes),
            "fanout_statements": sum(o["fanout_statements"] for o in outcomes),
            "fanout_seconds": sum(o["fanout_seconds"] for o in outcomes),
            "errors": sum(o["errors"] for o in outcomes), "error_samples": [s for o in outcomes for s in o["samples"]][:5],
            "ledger_events": ConsentEvent.objects.count() - events_before, "notices": WithdrawalNotice.objects.count()}


def _floor_sender(ports, headers, body, count, barrier, results):
    import urllib3

    pools = [urllib3.HTTPConnectionPool("127.0.0.1", port, maxsize=1, retries=False, timeout=30) for port in ports]
    per_port, ok = count // len(pools), 0
    barrier.wait()
    started = time.time()
    for pool, port in zip(pools, ports, strict=True):
        for _ in range(per_port):
            response = pool.urlopen("POST", "/hooks", body=body, headers=headers[port], redirect=False, retries=False,
                                    preload_content=False, assert_same_host=False)
            response.read(1025)
            response.release_conn()
            ok += 200 <= response.status < 300
    results.put({"started": started, "ended": time.time(), "ok": ok, "sent": per_port * len(pools)})


def _floor(*, ports: list[int], secrets: dict, requests: int, processes: int) -> float:
    """Raw POSTs, the same body size and headers as a delivery, signed once beforehand (the id and timestamp are
    fixed, so no signing per request), one endpoint after the other as the worker sends batches."""
    import multiprocessing
    import uuid

    from django.utils import timezone

    from webhooks.events import payload
    from webhooks.secrets import signature_header
    from webhooks.transport import USER_AGENT

    body = json.dumps(payload(type="consent.withdrawn", at=timezone.now(), data={
        "notice_id": str(uuid.uuid4()), "client_id": str(uuid.uuid4()), "purpose": "promotional-sharing-bench-recipient-01",
        "reason": "consent-withdrawn", "occurred_at": "2026-01-01T00:00:00.000000Z"}), separators=(",", ":")).encode()
    stamp = int(time.time())
    headers = {port: {"Host": f"127.0.0.1:{port}", "User-Agent": USER_AGENT, "Content-Type": "application/json",
                      "webhook-id": "floor", "webhook-timestamp": str(stamp),
                      "webhook-signature": signature_header(secrets=[secrets[port]], webhook_id="floor", timestamp=stamp,
                                                            body=body)} for port in ports}
    # Spawned, not forked: this process holds the broker's and the database's sockets by now.
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(processes), context.Queue()
    senders = [context.Process(target=_floor_sender, args=(ports[k::processes], headers, body, requests // processes,
                                                           barrier, results)) for k in range(processes)]
    for sender in senders:
        sender.start()
    outcomes = _collect(senders, results)
    assert all(o["ok"] == o["sent"] for o in outcomes), outcomes
    return sum(o["ok"] for o in outcomes) / (max(o["ended"] for o in outcomes) - min(o["started"] for o in outcomes))


def _process_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _receiver_start(recipients: int):
    receiver = subprocess.Popen([sys.executable, "-m", "bench.webhook_receiver", str(recipients)], stdout=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, text=True)
    return receiver, json.loads(receiver.stdout.readline())


def _control(port: int, method: str, path: str, body: dict | None = None) -> dict:
    import urllib.request

    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 -- our own local receiver
        return json.load(response)


def _idle(worker, deadline: float) -> None:
    """Wait until the queue is empty and no task runs (the last runs claim once more, find nothing, end)."""
    from redis import Redis

    from fulfillmen.celery import app

    redis = Redis.from_url(os.environ["REDIS_URL"])
    while time.monotonic() < deadline:
        active = app.control.inspect(timeout=1).active() or {}
        if not redis.llen(worker.queue) and not any(active.values()):
            return
        time.sleep(0.2)


def _child(args: dict) -> dict:
    from bench.workers import BackendCpu, CountingWorker, machine_cpu

    worker = CountingWorker(concurrency=2)
    os.environ["CELERY_QUEUE"] = worker.queue  # the withdrawals queue their tasks where the worker will listen

    import django

    django.setup()
    from django.db import connection
    from django.db.models import Max, Min

    from sharing.models import WithdrawalNotice
    from webhooks.models import WebhookAttempt, WebhookDelivery

    receiver, listening = _receiver_start(args["recipients"])
    try:
        ports, control = listening["ports"], listening["control"]
        _say(f"receivers on {ports}; building the world")
        world = _world(clients=args["clients"], recipients=args["recipients"], ports=ports)
        secrets = world["secrets"]
        _control(control, "POST", "/secrets", {str(p): s for p, s in secrets.items()})
        connection.close()
        floor = {"one_process": [], "two_processes": []}

        def floors():
            floor["one_process"].append(round(_floor(ports=ports, secrets=secrets, requests=args["floor_requests"],
                                                     processes=1), 1))
            floor["two_processes"].append(round(_floor(ports=ports, secrets=secrets, requests=args["floor_requests"],
                                                       processes=2), 1))

        _say("floor")
        floors()
        _say(f"floor {floor}; writing withdrawals")
        writes = _writes(purpose_id=world["purpose_id"], writers=args["writers"])
        deliveries = WebhookDelivery.objects.count()
        assert deliveries == args["clients"] * args["recipients"], (deliveries, writes)
        assert not WebhookDelivery.objects.exclude(status="pending").exists()
        before_rx = _control(control, "GET", "/counts")
        connection.close()
        analyzer = Autoanalyze()  # what autovacuum would have done by now, after 20 rows per client
        analyzer.now()
        analyzer.close()

        postgres = BackendCpu(connection.settings_dict["NAME"])
        busy_before, rx_cpu_before = machine_cpu(), _process_cpu(receiver.pid)
        _say(f"writes {writes['seconds']:.1f} s; starting the worker")
        worker_started = time.time()
        worker.start()
        deadline = time.monotonic() + 1800
        with connection.cursor() as cursor:
            while time.monotonic() < deadline:
                cursor.execute("SELECT EXISTS (SELECT 1 FROM webhooks_webhookdelivery WHERE status = 'pending') "
                               "OR EXISTS (SELECT 1 FROM webhooks_webhookdelivery WHERE status = 'sending')")
                if not cursor.fetchone()[0]:
                    break
                for _ in range(3):
                    postgres.sample()
                    time.sleep(0.1)
        _say("all sent; waiting for the worker to be idle")
        _idle(worker, deadline)
        postgres_seconds = postgres.seconds()
        postgres.close()
        busy_after, rx_cpu_after = machine_cpu(), _process_cpu(receiver.pid)
        counts = worker.counts()
        after_rx = _control(control, "GET", "/counts")
        _say(f"receiver: {after_rx['requests']} requests; floor again")
        connection.close()
        floors()
        rx = _control(control, "GET", "/counts")
    finally:
        worker.stop()
        receiver.terminate()
        receiver.wait(20)
    delivered = WebhookDelivery.objects.filter(status="delivered")
    span = delivered.aggregate(first=Min("delivered_at"), last=Max("delivered_at"))
    after_first = delivered.filter(delivered_at__gt=span["first"]).count()
    seconds = (span["last"] - span["first"]).total_seconds()
    return {
        "deliveries": deliveries, "all_delivered": delivered.count() == deliveries,
        "deliveries_per_s": after_first / seconds, "seconds": seconds,
        "seconds_from_worker_start": span["last"].timestamp() - worker_started,
        "attempts": WebhookAttempt.objects.count(),
        "acknowledged": WithdrawalNotice.objects.filter(acknowledged_at__isnull=False).count(),
        "writes": writes, "floor": floor, "worker": {k: round(v, 3) for k, v in counts.items()},
        "postgres_cpu_seconds": postgres_seconds, "receiver_cpu_seconds": rx_cpu_after - rx_cpu_before,
        "machine_busy_share": round((busy_after[0] - busy_before[0]) / (busy_after[1] - busy_before[1]), 3),
        "receiver": {"requests_of_deliveries": after_rx["requests"] - before_rx["requests"], "unique_ids": rx["unique_ids"],
                     "duplicates": rx["duplicates"], "verified": rx["verified"], "refused": rx["refused"],
                     "refusals": rx["refusals"]},
    }


if __name__ == "__main__" and sys.argv[1:2] == ["--child"]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fulfillmen.settings")
    print(json.dumps(_child(json.loads(sys.argv[2]))))
