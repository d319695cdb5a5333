"""A real Celery worker on Redis sends an announced transfer's notices after commit, each once, and hands a transfer
over once however often it is asked."""

import time
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from accounts.services import staff_user_ensure
from notify.models import OutboundMessage
from sharing.models import Affiliate, SharingRecord
from tests.conftest import PASSWORD, make_client
from tests.workers import Worker, wait_for
from transfers.handover_jobs import transfer_handover_request
from transfers.models import BusinessTransfer, TransferHandover
from transfers.notices import NOTICE_KIND
from transfers.services import transfer_publish
from transfers.tasks import deliver_transfer_notices, hand_over_transfer

from .conftest import ACQUIRER, draft

pytestmark = pytest.mark.django_db(transaction=True)
Status = BusinessTransfer.Status


@pytest.fixture(scope="module")
def celery_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    from fulfillmen.celery import app

    previous_queue = app.conf.task_default_queue
    mail_dir, sms_dir = tmp_path_factory.mktemp("transfer-mail"), tmp_path_factory.mktemp("transfer-sms")
    media_dir = tmp_path_factory.mktemp("transfer-media")
    with django_db_blocker.unblock():
        worker = Worker(mail_dir=mail_dir, sms_dir=sms_dir)
    worker.env["MEDIA_ROOT"] = str(media_dir)  # the handover files, where the test can look at them
    worker.start()
    yield worker, mail_dir, sms_dir, media_dir
    worker.stop()
    app.conf.task_default_queue = previous_queue


@pytest.fixture
def due_transfer(celery_worker, settings, privacy_officer):
    """A transfer announced 40 days ago: its deadline and handover date have passed, in the worker's time too."""
    settings.MEDIA_ROOT = celery_worker[3]
    legal = staff_user_ensure(email="legal@example.com", password=PASSWORD, groups=["Legal"])
    make_client(), make_client("outsider@example.com", country="FR", full_name="Outside Person")
    with time_machine.travel(timezone.now() - timedelta(days=40)):
        transfer = transfer_publish(transfer=draft(privacy_officer), approver=legal)
    return transfer, legal


def only_processor_records_besides(transfer) -> bool:
    """Every sharing record not to the acquirer is a processor's for a notice sent (sharing/processors.py): one per
    message, no other."""
    others = SharingRecord.objects.exclude(affiliate=transfer.affiliate)
    sent = OutboundMessage.objects.filter(kind=NOTICE_KIND, status=OutboundMessage.Status.SENT)
    return others.count() == others.filter(affiliate__kind=Affiliate.Kind.PROCESSOR).count() == sent.count()


def handover_files(media_dir, transfer):
    folder = media_dir / "transfers" / str(transfer.public_id)
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_real_worker_sends_each_notice_once_even_when_the_dispatch_is_queued_twice(celery_worker, privacy_officer):
    _worker, mail_dir, sms_dir, _media = celery_worker
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


def test_handover_runs_on_a_worker_once_even_when_asked_twice(celery_worker, due_transfer, client):
    worker, media_dir = celery_worker[0], celery_worker[3]
    transfer, legal = due_transfer
    worker.stop()  # the workers are busy elsewhere while staff press "Hand over" twice
    client.force_login(legal)
    url = reverse("admin:transfers_businesstransfer_hand_over", args=[transfer.pk])
    assert client.post(url).status_code == 302
    again = client.post(url, follow=True).content.decode()
    assert "already under way" in again and "Handing over" in again
    hand_over_transfer.delay(transfer.pk)  # and the broker redelivers one
    transfer.refresh_from_db()
    assert transfer.status == Status.HANDING_OVER and not TransferHandover.objects.exists()

    worker.start()
    assert wait_for(lambda: BusinessTransfer.objects.get(pk=transfer.pk).status == Status.HANDED_OVER, timeout=60)
    time.sleep(1.5)  # the other two tasks run too
    handover = TransferHandover.objects.get()
    assert handover.client_count == 2 and handover.generated_by == legal
    # The acquirer's records are the handover's; the only others are the processors', one per notice sent.
    assert SharingRecord.objects.filter(affiliate=transfer.affiliate).count() == 2 == (
        SharingRecord.objects.filter(request_id=handover.request_id).count())
    assert only_processor_records_besides(transfer)
    assert handover_files(media_dir, transfer) == [f"handover-{transfer.public_id}.csv", f"handover-{transfer.public_id}.json"]
    assert transfer.audit.filter(to_status=Status.HANDED_OVER).count() == 1
    assert transfer.audit.filter(to_status=Status.HANDING_OVER).count() == 1


def test_a_handover_the_worker_refuses_leaves_nothing_and_staff_see_why(celery_worker, due_transfer, client,
                                                                       privacy_officer):
    worker, media_dir = celery_worker[0], celery_worker[3]
    transfer, legal = due_transfer
    worker.stop()
    transfer_handover_request(transfer=transfer, actor=legal)
    legal.groups.clear()  # left Legal before the worker got to it: the worker acts as them, and is refused
    worker.start()
    assert wait_for(lambda: BusinessTransfer.objects.get(pk=transfer.pk).status == Status.PUBLISHED, timeout=60)
    transfer.refresh_from_db()
    assert "Only privacy officers and Legal hand over" in transfer.handover_error
    assert not TransferHandover.objects.exists() and not SharingRecord.objects.filter(affiliate=transfer.affiliate).exists()
    assert only_processor_records_besides(transfer)
    assert handover_files(media_dir, transfer) == []
    client.force_login(privacy_officer)
    page = client.get(reverse("admin:transfers_businesstransfer_change", args=[transfer.pk])).content.decode()
    assert "It failed and nothing was handed over" in page and "Only privacy officers and Legal hand over" in page
    assert "Hand over…" in page  # and it can be asked for again
