import pytest

from tests.workers import Worker, wait_for  # noqa: F401  (wait_for is used by the tests here)


@pytest.fixture(scope="session")
def mail_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("worker-mail")


@pytest.fixture(scope="session")
def sms_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("worker-sms")


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, mail_dir, sms_dir):
    """A real Celery worker on Redis for the whole session, consuming a queue of its own."""
    from fulfillmen.celery import app

    previous_queue = app.conf.task_default_queue
    with django_db_blocker.unblock():
        worker = Worker(mail_dir=mail_dir, sms_dir=sms_dir)
    worker.start()
    yield worker
    worker.stop()
    app.conf.task_default_queue = previous_queue
