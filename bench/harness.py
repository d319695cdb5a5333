"""The shared measuring tools of the benchmarks.

Every benchmark module exposes ``run(quick: bool) -> list[dict]`` and builds each result with
``record`` or ``compare``. A comparison runs both sides in the same process run, alternating
ours/theirs so that drift (cache warm-up, autovacuum, CPU frequency) hits both equally, and
reports medians; the ratio is the number that counts.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path


def record(name: str, value: float, unit: str, n: int, **extra) -> dict:
    """One measured number with its scale ``n`` (rows, clients, requests...)."""
    return {"name": name, "value": round(float(value), 6), "unit": unit, "n": n, **extra}


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call of ``fn`` takes (wall clock)."""
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def compare(
    name: str,
    ours_fn: Callable[[], float | None],
    theirs_fn: Callable[[], float | None],
    reps: int,
    n: int,
    unit: str = "s",
    *,
    ours_label: str = "ours",
    theirs_label: str = "theirs",
    **extra,
) -> dict:
    """Alternate ``ours_fn`` and ``theirs_fn`` ``reps`` times each; report both medians and the ratio.

    A side function may return its own measured value (for instance a time measured inside a
    subprocess, without process start-up); if it returns ``None`` the wall time of the call is used.
    ``ratio`` is theirs / ours: above 1 means ours is faster (for times) — for a rate unit such as
    "req/s" pass the rates and read ratio as theirs/ours all the same, see ``ratio_meaning``.
    """
    ours: list[float] = []
    theirs: list[float] = []
    for rep in range(reps):
        # Alternate which side goes first, so neither always gets the warmer cache.
        order = [(ours_fn, ours), (theirs_fn, theirs)]
        if rep % 2:
            order.reverse()
        for fn, samples in order:
            started = time.perf_counter()
            value = fn()
            elapsed = time.perf_counter() - started
            samples.append(float(value) if value is not None else elapsed)
    ours_median = statistics.median(ours)
    theirs_median = statistics.median(theirs)
    ratio = theirs_median / ours_median if ours_median else float("inf")
    return {
        "name": name,
        "value": round(ours_median, 6),
        "unit": unit,
        "n": n,
        "reps": reps,
        "ours": round(ours_median, 6),
        "theirs": round(theirs_median, 6),
        "ours_label": ours_label,
        "theirs_label": theirs_label,
        "ours_samples": [round(x, 6) for x in ours],
        "theirs_samples": [round(x, 6) for x in theirs],
        "ratio": round(ratio, 3),
        "ratio_meaning": f"{theirs_label} / {ours_label}",
        **extra,
    }


# --- Processes: a database of the benchmark's own, Django children, gunicorn as in production -------------------


ROOT = Path(__file__).resolve().parents[1]
POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
GUNICORN_WORKERS = int(os.environ.get("BENCH_GUNICORN_WORKERS", "3"))  # as the Dockerfile runs it


def ledger_verify() -> dict:
    """`manage.py verify_ledger` in this (Django) process, timed: seconds, intact, and what it printed."""
    import io

    from django.core.management import call_command

    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    try:
        call_command("verify_ledger", stdout=out, stderr=err)
        intact = True
    except SystemExit:
        intact = False
    return {"seconds": time.perf_counter() - started, "intact": intact, "out": out.getvalue(), "err": err.getvalue()}


def database_recreate(name: str) -> str:
    """Drop and create the database `name`; return its URL."""
    import psycopg

    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{POSTGRES}/{name}"


def database_drop(name: str) -> None:
    import psycopg

    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@functools.cache
def log_signing_key() -> str:
    """A consent-log signer key made for this run (production settings refuse to start without one; issue #17)."""
    from transparency_log.note import NoteSigner

    return NoteSigner.generate("bench.fulfillmen.example/consent-log")


def django_env(database_url: str, **overrides: str) -> dict:
    """The environment of a production-like process against the bench database (plain HTTP on localhost)."""
    env = dict(os.environ)
    env.update({
        "DJANGO_SETTINGS_MODULE": "bench.settings", "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret-key-that-is-long-enough-for-django-checks-0123456789",
        "DATABASE_URL": database_url, "REDIS_URL": REDIS, "SECURE_SSL_REDIRECT": "false", "SECURE_COOKIES": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost", "API_RATE": "100000000/minute", "STATICFILES_MANIFEST": "false",
        "LOG_LEVEL": "WARNING", "EMAIL_URL": "consolemail://", "SMS_URL": "memory:", "LOG_SIGNING_KEY": log_signing_key(),
        "LOG_ORIGIN": "bench.fulfillmen.example/consent-log",
    })
    env.update(overrides)
    return env


def migrate(env: dict) -> None:
    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT, env=env, check=True)


def child_json(module: str, *args: str, env: dict) -> dict:
    """Run `python -m module args...` and return the JSON object on its last line of output."""
    done = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(env: dict, *, workers: int = GUNICORN_WORKERS, ready_path: str = "/bench/trivial/"):
    """Serve the project with gunicorn (sync workers, as in production) on a free port; yield the base URL."""
    port = free_port()
    gunicorn_bin = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen([str(gunicorn_bin), "fulfillmen.wsgi:application", "--bind", f"127.0.0.1:{port}",
                               "--workers", str(workers), "--log-level", "warning"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + ready_path, timeout=5) as response:
                    response.read()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.3)
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
