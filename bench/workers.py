"""What the fan-out and consent benchmarks start: a database of their own, a child process with Django set up
against it, and a real Celery worker that counts the SQL statements it runs.

The parent (`bench.run`) may or may not have Django set up; these benchmarks never rely on it. Each one makes
its database, migrates it with `manage.py migrate` in a subprocess, does its measuring in a child process whose
environment points at that database, and drops the database afterwards.

`python -m celery -A bench.workers worker ...` runs the project's Celery app with a statement counter in each
pool process: every SQL statement Django executes is counted (Django's `execute_wrapper`, so nothing the ORM or
raw cursors run escapes it), and after each task the counts are added to a Redis hash named by BENCH_QUERY_KEY.
"""

import json
import os
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from bench.harness import log_signing_key

ROOT = Path(__file__).resolve().parents[1]
POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
# Production settings (DEBUG off: no query log in memory), with a throwaway key for a throwaway database.
SETTINGS_ENV = {"DEBUG": "false", "SECRET_KEY": "bench-only-throwaway-key-for-a-throwaway-database",
                "ALLOWED_HOSTS": "localhost", "DJANGO_SETTINGS_MODULE": "fulfillmen.settings",
                "LOG_SIGNING_KEY": log_signing_key()}


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
        conn.execute(sql)


@contextmanager
def bench_database(name: str):
    """A fresh, migrated PostgreSQL database; yields its DATABASE_URL and drops it afterwards."""
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{name}"')
    url = f"{POSTGRES}/{name}"
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, check=True,
                       env={**os.environ, **SETTINGS_ENV, "DATABASE_URL": url, "REDIS_URL": ""})
        yield url
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat. Between two readings: what the
    benchmark's processes, PostgreSQL and Redis used together (and anything else running at the time)."""
    ticks = os.sysconf("SC_CLK_TCK")
    with open("/proc/stat") as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / ticks, sum(fields) / ticks


class BackendCpu:
    """CPU seconds PostgreSQL's backends spent on one database: every `sample()` reads the backends' pids from
    pg_stat_activity and their utime + stime from /proc (PostgreSQL runs on this machine). A backend that ends
    between two samples loses at most one interval of its time; call sample() every fraction of a second."""

    def __init__(self, database: str):
        import psycopg

        self.database = database
        self.conn = psycopg.connect(f"{POSTGRES}/postgres", autocommit=True)
        self.baseline: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.sample()
        self.baseline = dict(self.last)

    def sample(self) -> None:
        ticks = os.sysconf("SC_CLK_TCK")
        pids = [row[0] for row in self.conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s",
                                                    [self.database])]
        for pid in pids:
            try:
                with open(f"/proc/{pid}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            self.last[pid] = (int(fields[11]) + int(fields[12])) / ticks

    def seconds(self) -> float:
        self.sample()
        return sum(cpu - self.baseline.get(pid, 0.0) for pid, cpu in self.last.items())

    def close(self) -> None:
        self.conn.close()


def child_run(module: str, *, database_url: str, args: dict, env: dict | None = None, timeout: float = 1200) -> dict:
    """Run `python -m <module> --child '<json args>'` against the database; its last stdout line is its JSON result."""
    child_env = {**os.environ, **SETTINGS_ENV, "DATABASE_URL": database_url, **(env or {})}
    done = subprocess.run([sys.executable, "-m", module, "--child", json.dumps(args)], check=False, cwd=ROOT, env=child_env,
                          stdout=subprocess.PIPE, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{module} child exited with {done.returncode}:\n{done.stdout[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


class CountingWorker:
    """A real `celery worker` (prefork pool) on its own queue, counting its SQL statements into Redis."""

    def __init__(self, *, concurrency: int = 2):
        self.queue = f"bench-{uuid.uuid4().hex[:8]}"
        self.query_key = f"bench:queries:{self.queue}"
        self.concurrency = concurrency
        self.process = None

    def start(self, timeout: float = 60) -> "CountingWorker":
        from fulfillmen.celery import app

        env = {**os.environ, "CELERY_QUEUE": self.queue, "BENCH_QUERY_KEY": self.query_key}
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "bench.workers", "worker", "--pool", "prefork",
             "--concurrency", str(self.concurrency), "--loglevel", "WARNING", "--without-gossip", "--without-mingle",
             "--without-heartbeat", "-Q", self.queue, "-n", f"{self.queue}@%h"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        app.conf.task_default_queue = self.queue
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            replies = app.control.ping(timeout=0.5) or []
            if any(self.queue in name for reply in replies for name in reply):
                return self
            if self.process.poll() is not None:
                raise RuntimeError("The Celery worker exited at start")
        self.stop()
        raise RuntimeError(f"The Celery worker did not answer within {timeout} s")

    def counts(self) -> dict:
        from redis import Redis

        raw = Redis.from_url(os.environ["REDIS_URL"]).hgetall(self.query_key)
        return {k.decode(): float(v) for k, v in raw.items()}

    def stop(self) -> None:
        from redis import Redis

        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        # The counts, and the queue's bindings kombu left behind.
        Redis.from_url(os.environ["REDIS_URL"]).delete(self.query_key, self.queue, f"_kombu.binding.{self.queue}",
                                                       f"_kombu.binding_permanent.{self.queue}")


# --- inside the worker (`-A bench.workers`) -------------------------------------------------------------------

_tally = {"statements": 0, "sql_seconds": 0.0}


def _count(execute, sql, params, many, context):
    started = time.perf_counter()
    try:
        return execute(sql, params, many, context)
    finally:
        _tally["statements"] += 1
        _tally["sql_seconds"] += time.perf_counter() - started
        verb = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else "?"
        _tally[f"stmt_{verb}"] = _tally.get(f"stmt_{verb}", 0) + 1


def _install_counter(**kwargs):
    """In each pool process: count SQL statements (Django's execute_wrapper) and Redis commands (every command the
    task's own Redis connections write, including those written without waiting for an answer; the broker
    connection lives in the worker's main process, not here)."""
    from django.db import connection
    from redis.connection import AbstractConnection

    if _count not in connection.execute_wrappers:
        connection.execute_wrappers.append(_count)
    plain = AbstractConnection.send_packed_command

    def counted(self, command, *args, **options):
        _tally["redis_commands"] = _tally.get("redis_commands", 0) + 1
        return plain(self, command, *args, **options)

    AbstractConnection.send_packed_command = counted


def _task_started(**kwargs):
    _tally["task_started"] = time.perf_counter()
    _tally["cpu_started"] = time.process_time()


def _flush_counts(**kwargs):
    from redis import Redis

    key = os.environ.get("BENCH_QUERY_KEY")
    if not key:
        return
    task_seconds = time.perf_counter() - _tally.pop("task_started", time.perf_counter())
    _tally["task_cpu_seconds"] = time.process_time() - _tally.pop("cpu_started", time.process_time())
    with Redis.from_url(os.environ["REDIS_URL"]).pipeline() as pipe:
        for name, value in _tally.items():
            pipe.hincrbyfloat(key, name, value)
        pipe.hincrbyfloat(key, "task_seconds", task_seconds)
        pipe.hincrby(key, "tasks", 1)
        pipe.execute()
    _tally.clear()
    _tally.update(statements=0, sql_seconds=0.0)


def __getattr__(name):
    """`celery -A bench.workers` asks for `app`: the project's app, with the counter connected."""
    if name != "app":
        raise AttributeError(name)
    from celery import signals

    from fulfillmen.celery import app

    signals.worker_process_init.connect(_install_counter, weak=False)
    signals.task_prerun.connect(_task_started, weak=False)
    signals.task_postrun.connect(_flush_counts, weak=False)
    return app
