"""A real Celery worker on Redis sends an announced transfer's notices after commit, each once."""

import time

import pytest
from django.contrib.auth.models import Group

from accounts.services import staff_user_ensure
from notify.models import OutboundMessage
from tests.conftest import PASSWORD, make_client
from tests.workers import Worker, wait_for
from transfers.notices import NOTICE_KIND
from transfers.services import transfer_publish
from transfers.tasks import deliver_transfer_notices

from .conftest import ACQUIRER, draft

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def celery_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    from fulfillmen.celery import app

    previous_queue = app.conf.task_default_queue
    mail_dir, sms_dir = tmp_path_factory.mktemp("transfer-mail"), tmp_path_factory.mktemp("transfer-sms")
    with django_db_blocker.unblock():
        worker = Worker(mail_dir=mail_dir, sms_dir=sms_dir)
    worker.start()
    yield worker, mail_dir, sms_dir
    worker.stop()
    app.conf.task_default_queue = previous_queue


def test_a_real_worker_sends_each_notice_once_even_when_the_dispatch_is_queued_twice(celery_worker, privacy_officer):
    _worker, mail_dir, sms_dir = celery_worker
    assert Group.objects.filter(name="Legal").exists()
    approver = staff_user_ensure(email="legal@example.com", password=PASSWORD, groups=["Legal"])
    owner = make_client()
    transfer = transfer_publish(transfer=draft(privacy_officer), approver=approver)  # commits: the worker is told
    notices = OutboundMessage.objects.filter(kind=NOTICE_KIND, client=owner)
    assert wait_for(lambda: notices.filter(status=OutboundMessage.Status.SENT).count() == 2, timeout=30)
    deliver_transfer_notices.delay(transfer.pk)  # a duplicate, as a broker redelivery would give
    time.sleep(1.0)  # give the duplicate time to run
    sent_mail = [p.read_text() for p in mail_dir.glob("*.log")]
    assert sum(text.count(f"To: {owner.email}") for text in sent_mail) == 1
    assert any(ACQUIRER in p.read_text() for p in sms_dir.iterdir())
    assert notices.filter(status=OutboundMessage.Status.SENT, attempts=1).count() == 2
