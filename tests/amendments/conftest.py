import pytest

from tests.notify.test_sms import twilio  # noqa: F401  (the fake Twilio server, for notice tests)
from tests.workers import Worker


@pytest.fixture
def notice_dirs(tmp_path):
    mail, sms = tmp_path / "mail", tmp_path / "sms"
    mail.mkdir()
    sms.mkdir()
    return mail, sms


@pytest.fixture
def worker_factory(django_db_blocker, notice_dirs):
    """Start (and kill, and start again) real Celery workers on Redis that write email and SMS to files."""
    from fulfillmen.celery import app

    previous_queue, queue, workers = app.conf.task_default_queue, None, []

    def start(*, wait: bool = True, **options):
        nonlocal queue
        with django_db_blocker.unblock():
            worker = Worker(mail_dir=notice_dirs[0], sms_dir=notice_dirs[1], queue=queue, **options)
        queue = worker.queue
        workers.append(worker.start(wait=wait))
        return worker

    yield start
    for worker in workers:
        worker.stop()
    app.conf.task_default_queue = previous_queue
