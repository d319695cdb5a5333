"""The retention job run twice at once, and by the beat task on a real Celery worker: each item is dealt with once,
each dormant client erased once, and every run leaves its record."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import IPObservation
from consent.models import Purpose
from notify.models import OutboundMessage
from rights.models import RetentionRun
from rights.retention.enforce import retention_enforce
from rights.retention.periods import months_before
from rights.tasks import enforce_retention
from sharing.models import WithdrawalNotice
from sharing.services import sharing_records_write
from tests.conftest import make_client
from tests.rights.dormancy import warn_dormant
from tests.sharing.conftest import make_affiliate
from tests.threads import run_in_parallel
from tests.workers import Worker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def long_ago(months: int):
    return months_before(timezone.now(), months) - timedelta(days=1)


@pytest.fixture
def expired_world(settings):
    settings.RETENTION_BATCH_SIZE = 4  # several batches, so that the two runs interleave
    active = make_client("active@example.com")
    for n in range(20):
        IPObservation.objects.create(client=active, ip_address=f"192.0.2.{n + 1}", first_seen=long_ago(13),
                                     last_seen=long_ago(13), last_context=IPObservation.Context.LOGIN)
    with time_machine.travel(long_ago(37), tick=False):
        sleepers = [make_client(f"sleeper{n}@example.com", full_name=f"Sleeper {n}") for n in range(3)]
    sharing_records_write(affiliate=make_affiliate("Ads Network"), purpose=Purpose.objects.get(code="promotional-sharing"),
                          fields=["email"], client_ids=[c.pk for c in sleepers], api_key=None,
                          request_id=sleepers[0].public_id, at=long_ago(37))
    assert warn_dormant(days_ago=31) == 3  # warned a month ago: their erasure is due
    return sleepers


def test_two_retention_runs_racing_share_the_work_and_do_nothing_twice(expired_world):
    run_in_parallel([retention_enforce, retention_enforce])

    assert not IPObservation.objects.filter(last_seen__lt=long_ago(12)).exists()
    runs = list(RetentionRun.objects.all())
    assert len(runs) == 2
    assert sum(r.counts["ip_addresses"]["done"] for r in runs) == 20
    assert sum(r.counts["dormant_accounts"]["done"] for r in runs) == 3
    assert all(r.total("failed") == 0 for r in runs)
    for sleeper in expired_world:
        sleeper.refresh_from_db()
        assert sleeper.erased_at is not None
        assert WithdrawalNotice.objects.filter(client=sleeper).count() == 1
    assert OutboundMessage.objects.filter(kind="dormant-account-erased").count() == 3


def test_two_runs_racing_warn_each_dormant_client_once():
    with time_machine.travel(long_ago(37), tick=False):
        sleepers = [make_client(f"sleeper{n}@example.com", full_name=f"Sleeper {n}") for n in range(4)]

    run_in_parallel([retention_enforce, retention_enforce])

    runs = list(RetentionRun.objects.all())
    assert sum(r.counts["dormant_warnings"]["done"] for r in runs) == 4
    assert sum(r.counts["dormant_accounts"]["done"] for r in runs) == 0  # warned, not yet erased
    assert sorted(OutboundMessage.objects.filter(kind="dormant-account-warning").values_list("client_id", flat=True)) == (
        sorted(s.pk for s in sleepers))


@pytest.fixture
def celery_worker(django_db_blocker, tmp_path):
    from fulfillmen.celery import app

    previous_queue = app.conf.task_default_queue
    with django_db_blocker.unblock():
        worker = Worker(mail_dir=tmp_path / "mail", sms_dir=tmp_path / "sms")
    worker.start()
    yield worker
    worker.stop()
    app.conf.task_default_queue = previous_queue


def test_the_daily_task_enforces_retention_on_a_worker_and_leaves_its_record(expired_world, celery_worker):
    enforce_retention.delay()

    assert wait_for(lambda: RetentionRun.objects.filter(trigger=RetentionRun.Trigger.SCHEDULE).exists(), timeout=60)
    record = RetentionRun.objects.get()
    assert record.counts["ip_addresses"]["done"] == 20 and record.counts["dormant_accounts"]["done"] == 3
    assert not IPObservation.objects.filter(last_seen__lt=long_ago(12)).exists()
