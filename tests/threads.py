"""Real parallel work for tests: each job in its own thread, on its own database connection."""

import threading

from django.db import connection


def run_in_parallel(jobs, *, together: bool = True, timeout: float = 60) -> None:
    """Run each job in a thread of its own (all released at the same moment when `together`), wait for all of them,
    and fail with what any of them raised."""
    barrier = threading.Barrier(len(jobs)) if together else None
    errors = []

    def worker(job):
        try:
            if barrier is not None:
                barrier.wait(timeout=10)
            job()
        except Exception as exc:  # collected and reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not errors, errors
