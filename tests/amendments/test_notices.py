"""Notices of a policy change: one per client and channel, sent at most once, none lost."""

import json
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.demo import synthetic_clients_create
from amendments.marks import SentMarks
from amendments.models import NoticeDelivery
from amendments.notices import _claim, notices_create, notices_recover, notices_send
from amendments.services import notice_period, policy_draft_save, policy_publish
from notify import sms
from tests.conftest import make_client
from tests.workers import wait_for

Status = NoticeDelivery.Status


def draft(label="2.0", material=False):
    return policy_draft_save(label=label, body_en=f"# Policy {label}\n\nWe changed things.", summary="Clearer words.",
                             summary_zh_hans="更清楚的措辞。", is_material=material)


def publish_after_notice(version):
    """Published now, effective at the earliest its notice period allows (POLICY_MINOR_NOTICE_DAYS if not material)."""
    now = timezone.now()
    return policy_publish(version=version, effective_at=now + notice_period(material=version.is_material), now=now)


def emails_transmitted(mail_dir) -> list[tuple[str, str]]:
    """(recipient, Message-ID) of every message the mail server accepted, in the file backend's logs."""
    sent = []
    for path in mail_dir.glob("*.log"):
        for message in path.read_text().split("\n" + "-" * 79 + "\n"):
            headers = dict(line.split(": ", 1) for line in message.split("\n\n", 1)[0].splitlines() if ": " in line)
            if "To" in headers:
                sent.append((headers["To"].strip(), headers.get("Message-ID", "").strip()))
    return sent


def emails_per_recipient(mail_dir) -> Counter:
    """Messages each recipient's mailbox shows: mail systems take one Message-ID as one message."""
    return Counter(to for to, _message_id in set(emails_transmitted(mail_dir)))


def sms_per_recipient(sms_dir) -> Counter:
    return Counter(json.loads(p.read_text())["to"] for p in sms_dir.glob("*.json"))


@pytest.mark.django_db
def test_publishing_creates_one_email_per_client_and_one_sms_per_phone(settings):
    with_phone = make_client("a@example.com")
    without_phone = make_client("b@example.com", phone="")
    version = publish_after_notice(draft())
    rows = {(d.client_id, d.channel): d for d in NoticeDelivery.objects.filter(version=version)}
    assert set(rows) == {(with_phone.pk, "email"), (with_phone.pk, "sms"), (without_phone.pk, "email"), (without_phone.pk, "sms")}
    assert rows[(without_phone.pk, "sms")].status == Status.SKIPPED
    assert rows[(without_phone.pk, "sms")].reason == "No mobile number on file."
    assert notices_create(version=version) == 0  # a second run adds nothing


@pytest.mark.django_db
def test_sending_in_process_reaches_every_client_once_in_their_language(settings, mailoutbox):
    settings.SMS_URL = "memory:"
    sms.outbox.clear()
    make_client("en@example.com")
    make_client("zh@example.com", country="CN", phone="+8613800138000", preferred_language="zh-hans")
    version = publish_after_notice(draft())
    assert notices_send(version_id=version.pk) == {"sent": 4, "failed": 0, "retry": 0}
    assert notices_send(version_id=version.pk) == {"sent": 0, "failed": 0, "retry": 0}
    assert sorted(m.to[0] for m in mailoutbox) == ["en@example.com", "zh@example.com"]
    chinese = next(m for m in mailoutbox if m.to == ["zh@example.com"])
    assert "变更内容：更清楚的措辞。" in chinese.body
    assert chinese.subject.startswith("Fulfillmen 隐私政策：版本 2.0 将于 ") and chinese.subject.endswith(" 生效")
    assert len(sms.outbox) == 2 and all("/policy/" in m["body"] for m in sms.outbox)
    assert set(NoticeDelivery.objects.values_list("status", flat=True)) == {Status.SENT}


@pytest.mark.django_db
def test_material_notice_says_how_to_object_and_that_it_is_a_service_message(settings, mailoutbox):
    settings.SMS_URL = "memory:"
    make_client("a@example.com")
    version = policy_publish(version=draft(material=True), effective_at=timezone.now() + timedelta(days=31))
    notices_send(version_id=version.pk)
    body = mailoutbox[0].body
    assert "object to it, or withdraw any consent" in body and "/portal/choices/" in body
    assert "whatever you chose about promotions" in body


@pytest.mark.django_db
def test_a_temporary_sms_error_is_retried_later_and_the_email_is_not_sent_again(settings, mailoutbox):
    settings.SMS_URL = "twilio://AC1:t@127.0.0.1:9?from=%2B15005550006&scheme=http"  # nothing listens: temporary
    client = make_client("a@example.com")
    version = publish_after_notice(draft())
    assert notices_send(version_id=version.pk) == {"sent": 1, "failed": 0, "retry": 1}
    sms_row = NoticeDelivery.objects.get(client=client, channel="sms")
    assert sms_row.status == Status.QUEUED and sms_row.attempts == 1 and sms_row.retry_at > timezone.now()
    settings.SMS_URL = "memory:"
    assert notices_send(version_id=version.pk)["sent"] == 0  # not before its retry time
    NoticeDelivery.objects.filter(pk=sms_row.pk).update(retry_at=timezone.now())
    assert notices_send(version_id=version.pk)["sent"] == 1
    assert len(mailoutbox) == 1  # the email went once, in the first run


@pytest.mark.django_db
def test_a_permanent_sms_error_is_recorded_with_the_reason_and_not_retried(settings, twilio):
    twilio.answers.append((400, {"code": 21211, "message": "The 'To' number is not a valid phone number."}))
    settings.SMS_URL = twilio.url
    client = make_client("a@example.com")
    version = publish_after_notice(draft())
    assert notices_send(version_id=version.pk) == {"sent": 1, "failed": 1, "retry": 0}
    sms_row = NoticeDelivery.objects.get(client=client, channel="sms")
    assert sms_row.status == Status.FAILED and "21211" in sms_row.reason
    assert notices_send(version_id=version.pk)["sent"] == 0 and len(twilio.requests) == 1


@pytest.mark.django_db
def test_a_dead_workers_chunk_is_recovered_sent_rows_stay_sent_the_rest_go_out_once(settings):
    settings.SMS_URL = "memory:"
    sms.outbox.clear()
    for n in range(6):
        make_client(f"c{n}@example.com", phone="")
    version = draft()
    with transaction.atomic():
        version = publish_after_notice(version)
    import uuid

    claimed = _claim(version_id=version.pk, kind="notice", token=uuid.uuid4(), size=4)
    marks = SentMarks()
    marks.add(version.pk, claimed[0][0])  # the worker got the first one out, then died
    NoticeDelivery.objects.filter(status=Status.CLAIMED).update(claimed_at=timezone.now() - timedelta(hours=1))
    assert notices_recover() == {"sent": 1, "requeued": 3}
    assert notices_send(version_id=version.pk)["sent"] == 5
    assert NoticeDelivery.objects.filter(channel="email", status=Status.SENT).count() == 6


def test_marks_streamed_without_waiting_are_all_in_redis_when_the_chunk_ends():
    marks, version_id, ids = SentMarks(), 987654321, list(range(1, 1201))
    marks.redis.delete(marks.key(version_id))
    with marks.writer(version_id) as chunk:
        for pk in ids:
            chunk.add(pk)
    assert marks.members(version_id) == set(ids)
    # The connection went back to the pool answering again: ordinary commands get their own answers.
    assert marks.redis.scard(marks.key(version_id)) == 1200 and marks.redis.ping()
    marks.forget(version_id, ids)
    assert marks.members(version_id) == set()


@pytest.mark.django_db(transaction=True)
def test_a_thousand_clients_get_exactly_a_thousand_emails_and_an_sms_per_phone(worker_factory, notice_dirs):
    synthetic_clients_create(count=1000, seed=3)
    make_client("nophone@example.com", phone="")
    worker_factory()
    with transaction.atomic():
        version = publish_after_notice(draft())
    unsettled = NoticeDelivery.objects.filter(version=version, status__in=[Status.QUEUED, Status.CLAIMED])
    assert wait_for(lambda: not unsettled.exists(), timeout=120)
    emails, texts = emails_per_recipient(notice_dirs[0]), sms_per_recipient(notice_dirs[1])
    assert len(emails) == 1001 and set(emails.values()) == {1}
    assert sum(texts.values()) == 1000
    assert NoticeDelivery.objects.filter(version=version, channel="sms", status=Status.SKIPPED).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_run_and_restarted_sends_no_duplicates_and_leaves_nothing_unsent(worker_factory, notice_dirs):
    synthetic_clients_create(count=3000, seed=4)
    first = worker_factory()
    with transaction.atomic():
        version = publish_after_notice(draft())
    assert wait_for(lambda: NoticeDelivery.objects.filter(version=version, status=Status.SENT).count() >= 300, timeout=60)
    first.kill()
    remaining = NoticeDelivery.objects.filter(version=version).exclude(status=Status.SENT).count()
    assert remaining > 0, "the worker finished before it could be killed; raise the number of clients"
    # The sweeper's rule, without waiting ten minutes: claims of the dead worker are recovered.
    notices_recover(older_than=timedelta(0))
    worker_factory()
    from amendments.tasks import send_notices_soon

    send_notices_soon(version.pk)
    assert wait_for(lambda: not NoticeDelivery.objects.filter(version=version).exclude(status=Status.SENT).exists(),
                    timeout=180)
    emails, texts = emails_per_recipient(notice_dirs[0]), sms_per_recipient(notice_dirs[1])
    assert len(emails) == 3000 and set(emails.values()) == {1}, "an email went twice or not at all"
    assert sum(texts.values()) == 3000, "an SMS went twice or not at all"
    # Only the message in flight when the worker died can have been handed to the server a second time, and then
    # with the same Message-ID: the recipient sees one message.
    transmissions = emails_transmitted(notice_dirs[0])
    assert len(transmissions) - len(set(transmissions)) <= 1


@pytest.mark.django_db(transaction=True)
def test_five_workers_killed_at_random_points_in_a_row_still_send_each_client_one_notice_per_channel(worker_factory,
                                                                                                   notice_dirs):
    import random

    from amendments.tasks import send_notices_soon
    from tests.mailbox import SlowMailbox

    synthetic_clients_create(count=2000, seed=5)
    mailbox = SlowMailbox(delay=0.003)  # a provider with latency: a worker's run lasts seconds, not milliseconds
    chance = random.Random()
    try:
        worker = worker_factory(email_url=mailbox.url)
        with transaction.atomic():
            version = publish_after_notice(draft())
        for kill in range(5):
            before = len(mailbox.transmissions)
            assert wait_for(lambda before=before: len(mailbox.transmissions) > before, timeout=60, interval=0.01), \
                f"kill {kill + 1}"
            time.sleep(chance.uniform(0, 0.5))  # somewhere in a chunk: claiming, sending, marking or recording
            worker.kill()
            assert NoticeDelivery.objects.filter(version=version).exclude(status=Status.SENT).exists(), (
                f"the run finished before kill {kill + 1}; raise the number of clients")
            notices_recover(older_than=timedelta(0))  # the sweeper's rule, without waiting for CLAIM_TIMEOUT
            worker = worker_factory(email_url=mailbox.url, wait=False)  # it starts on the queued senders at once
            send_notices_soon(version.pk)
        assert wait_for(lambda: not NoticeDelivery.objects.filter(version=version).exclude(status=Status.SENT).exists(),
                        timeout=180)
        transmissions = mailbox.transmissions
    finally:
        mailbox.close()
    recipients = Counter(to for to, _message_id in set(transmissions))  # what the mailboxes show: one per Message-ID
    assert len(recipients) == 2000 and set(recipients.values()) == {1}, "an email went twice or not at all"
    assert sum(sms_per_recipient(notice_dirs[1]).values()) == 2000, "an SMS went twice or not at all"
    # At most the message in flight at each kill was handed over again, and then with the same Message-ID.
    assert len(transmissions) - len(set(transmissions)) <= 5


@pytest.mark.django_db
def test_notices_the_broker_never_got_are_sent_by_the_sweeper(settings, mailoutbox, monkeypatch):
    settings.SMS_URL = "memory:"
    make_client("a@example.com")
    make_client("b@example.com", phone="")
    # The broker is down at commit time: no sender starts (the on-commit hook's .delay would fail).
    monkeypatch.setattr("amendments.services._start_senders", lambda version_id: None)
    version = publish_after_notice(draft())
    assert NoticeDelivery.objects.filter(version=version, status=Status.QUEUED).count() == 3
    from amendments.tasks import sweep_notices

    sweep_notices()  # the beat task, run in-process here
    assert sorted(m.to[0] for m in mailoutbox) == ["a@example.com", "b@example.com"]
    assert not NoticeDelivery.objects.filter(version=version, status=Status.QUEUED).exists()
