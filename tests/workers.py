"""Real Celery workers on Redis for tests: each consumes a queue of its own, against the test database."""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


class Worker:
    def __init__(self, *, mail_dir: Path, sms_dir: Path, queue: str | None = None, email_url: str | None = None,
                 redis_url: str | None = None, env: dict | None = None):
        from fulfillmen.celery import app

        self.app = app
        self.queue = queue or f"test-{uuid.uuid4().hex[:8]}"
        database = connection.settings_dict["NAME"]
        base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
        self.env = {**os.environ, "DATABASE_URL": f"{base}/{database}", "CELERY_QUEUE": self.queue,
                    "EMAIL_URL": email_url or f"filemail://{mail_dir}", "SMS_URL": f"file://{sms_dir}",
                    "LOG_LEVEL": "WARNING",  # little output: nobody reads the pipe until the worker ends
                    "LOG_WITNESS_FILE": str(settings.LOG_WITNESS_FILE)}  # the test's own copy of the consent log
        if redis_url:
            self.env["REDIS_URL"] = redis_url
        self.env.update(env or {})
        self.env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        self.process = None

    def start(self, timeout: float = 30, *, wait: bool = True) -> "Worker":
        """Start the worker; with `wait`, return once it answers a ping (a solo worker busy with a task answers only
        after it, so a test that must catch a worker in the middle of its work starts it without waiting)."""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "fulfillmen", "worker", "--pool", "solo", "--loglevel", "WARNING",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{self.queue}-{uuid.uuid4().hex[:4]}@%h"],
            cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.app.conf.task_default_queue = self.queue
        if not wait:
            return self
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            replies = self.app.control.ping(timeout=0.5) or []
            if any(self.queue in name for reply in replies for name in reply):
                return self
            if self.process.poll() is not None:
                raise RuntimeError("The Celery worker exited:\n" + self.process.stdout.read())
        self.kill()
        raise RuntimeError(f"The Celery worker did not answer within {timeout} s")

    def kill(self) -> None:
        """SIGKILL: no goodbye, no acknowledgement, exactly like a machine that dies."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def wait_for(predicate, timeout=20.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False
