"""Sharing records are partitioned by month (sharing migration 0012, sharing/partitions.py): months exist ahead, an
insert never fails for want of one, and a month past the retention period is dropped whole -- except the rows that
must outlive it (a withheld disclosure, a client under a legal hold, a recipient's last record)."""

import logging
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from consent.models import Purpose
from rights.services import legal_hold_release, legal_hold_set
from sharing.models import SharingRecord
from sharing.partitions import DEFAULT, KEPT, month_add, month_first, month_table, months_back_ensure, months_partitioned
from sharing.selectors import sharing_records_of_client
from sharing.services import sharing_records_write, sharing_records_write_to_recipient
from tests.conftest import make_client

from .conftest import make_affiliate

THIS_MONTH = month_first(datetime.now(UTC).date())
OLD = datetime.combine(month_add(THIS_MONTH, -40), datetime.min.time(), tzinfo=UTC) + timedelta(days=9, hours=10)


def partitions() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT relid::regclass::text FROM pg_partition_tree('sharing_sharingrecord') WHERE isleaf")
        return {row[0] for row in cursor.fetchall()}


def share(affiliate, client, *, at, fields=("email",)):
    sharing_records_write(affiliate=affiliate, purpose=Purpose.objects.get(code="promotional-sharing"), fields=list(fields),
                          client_ids=[client.pk], api_key=None, request_id=uuid.uuid4(), at=at)


def disclose(client, *, at, withheld_until=None):
    sharing_records_write_to_recipient(recipient_name="Public Security Bureau", recipient_country="CN",
                                       purpose=Purpose.objects.get(code="legal-obligation"), fields=["name", "phone"],
                                       client_ids=[client.pk], request_id=uuid.uuid4(), at=at, withheld_until=withheld_until)


@pytest.fixture
def old_months(db):
    """The months from 40 months ago partitioned, as for records imported from before the migration."""
    with connection.cursor() as cursor:
        months_back_ensure(cursor, first=OLD.date())


def test_the_table_has_this_month_the_months_ahead_a_kept_partition_and_a_default(db, settings):
    names = partitions()
    assert {month_table(month_add(THIS_MONTH, n)) for n in range(settings.SHARING_PARTITIONS_AHEAD + 1)} <= names
    assert {KEPT, DEFAULT} <= names


def test_a_record_lands_in_its_month_and_reads_as_before(db):
    owner, ads = make_client(), make_affiliate("Ads Network")
    share(ads, owner, at=timezone.now())
    record = SharingRecord.objects.get()
    assert record.fields == ["email"] and SharingRecord.objects.get(pk=record.pk) == record
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM sharing_sharingrecord")
        assert cursor.fetchone()[0] == month_table(THIS_MONTH)


def test_a_client_reads_their_records_newest_first_across_months(db, old_months):
    owner, ads = make_client(), make_affiliate("Ads Network")
    moments = [OLD + timedelta(days=31 * n) for n in range(0, 40, 3)]
    for at in reversed(moments):
        share(ads, owner, at=at)
    assert [r.shared_at for r in sharing_records_of_client(client=owner)] == sorted(moments, reverse=True)


def test_the_command_creates_the_months_ahead_it_is_asked_for(db):
    assert month_table(month_add(THIS_MONTH, 8)) not in partitions()
    call_command("sharing_partitions", "--ahead", "8", stdout=open("/dev/null", "w"))
    assert {month_table(month_add(THIS_MONTH, n)) for n in range(9)} <= partitions()
    call_command("sharing_partitions", "--ahead", "8", stdout=open("/dev/null", "w"))  # again: nothing to do


def test_an_old_month_is_dropped_and_its_rows_are_gone(db, old_months, capsys):
    owner, ads = make_client(), make_affiliate("Ads Network")
    share(ads, owner, at=OLD)
    share(ads, owner, at=OLD + timedelta(hours=1))
    disclose(owner, at=OLD)  # to an authority, released long ago
    share(ads, owner, at=timezone.now())  # the recipient's last record is this month's
    call_command("sharing_partitions")
    assert month_table(month_first(OLD.date())) not in partitions()
    assert [r.shared_at.date() for r in SharingRecord.objects.all()] == [timezone.now().astimezone(UTC).date()]
    assert f"Dropped {OLD:%Y-%m}: 3 records deleted, 0 kept" in capsys.readouterr().out


def test_a_month_within_the_retention_period_stays(db, old_months):
    owner, ads = make_client(), make_affiliate("Ads Network")
    recent = datetime.combine(month_add(THIS_MONTH, -35), datetime.min.time(), tzinfo=UTC)
    share(ads, owner, at=recent)
    share(ads, owner, at=timezone.now())
    call_command("sharing_partitions", stdout=open("/dev/null", "w"))
    assert SharingRecord.objects.filter(shared_at=recent).exists()
    assert month_table(month_first(recent.date())) in partitions()


def test_a_withheld_disclosure_in_an_old_month_survives_and_stays_invisible_to_the_client(db, old_months):
    owner = make_client()
    secret_until = timezone.localdate() + timedelta(days=90)
    disclose(owner, at=OLD, withheld_until=secret_until)
    disclose(owner, at=OLD + timedelta(days=1))  # released: goes with its month
    call_command("sharing_partitions", stdout=open("/dev/null", "w"))
    kept = SharingRecord.objects.get()
    assert kept.withheld_until == secret_until and kept.shared_at == OLD
    assert not sharing_records_of_client(client=owner).exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM sharing_sharingrecord")
        assert cursor.fetchone()[0] == KEPT


def test_a_client_under_a_legal_hold_keeps_their_old_records_until_the_hold_is_released(db, old_months, privacy_officer):
    held, free, ads = make_client("held@example.com"), make_client("free@example.com"), make_affiliate("Ads Network")
    for client in (held, free):
        share(ads, client, at=OLD)
        share(ads, client, at=timezone.now())
    hold = legal_hold_set(client=held, reason="Court order", keep_until=None, actor=privacy_officer)
    call_command("sharing_partitions", stdout=open("/dev/null", "w"))
    assert SharingRecord.objects.filter(shared_at=OLD).get().client == held
    legal_hold_release(hold=hold, actor=privacy_officer, reason="Case closed")
    call_command("sharing_partitions", stdout=open("/dev/null", "w"))
    assert not SharingRecord.objects.filter(shared_at=OLD).exists()


def test_a_recipients_last_record_is_kept_while_no_newer_one_proves_what_it_holds(db, old_months):
    """Withdrawal notices find the recipients holding a client's data from the records."""
    owner, ads = make_client(), make_affiliate("Ads Network")
    share(ads, owner, at=OLD)
    share(ads, owner, at=OLD + timedelta(hours=2))
    call_command("sharing_partitions", stdout=open("/dev/null", "w"))
    assert list(SharingRecord.objects.values_list("shared_at", flat=True)) == [OLD + timedelta(hours=2)]
    share(ads, owner, at=timezone.now())
    call_command("sharing_partitions", stdout=open("/dev/null", "w"))  # the kept one is no longer the last
    assert SharingRecord.objects.get().shared_at > timezone.now() - timedelta(minutes=5)


def test_a_record_beyond_the_months_ahead_lands_in_default_raises_the_alarm_and_is_moved(db, caplog):
    owner, ads = make_client(), make_affiliate("Ads Network")
    far = datetime.combine(month_add(THIS_MONTH, 14), datetime.min.time(), tzinfo=UTC) + timedelta(days=3)
    share(ads, owner, at=far)  # no outage: the DEFAULT partition takes it
    with pytest.raises(CommandError, match="1 records in the DEFAULT partition"):
        call_command("sharing_partitions", "--check")
    with caplog.at_level(logging.ERROR, logger="sharing.partitions"):
        call_command("sharing_partitions", stdout=open("/dev/null", "w"))
    assert not caplog.records  # moved into its month before the report: no alarm left
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM sharing_sharingrecord")
        assert cursor.fetchone()[0] == month_table(month_first(far.date()))
    assert SharingRecord.objects.get().shared_at == far
    call_command("sharing_partitions", "--check", stdout=open("/dev/null", "w"))


def test_too_few_months_ahead_is_logged_as_an_alarm(db, caplog):
    from sharing.partitions import sharing_partitions_maintain

    with connection.cursor() as cursor:
        for month in months_partitioned(cursor):
            if month > month_add(THIS_MONTH, 1):
                cursor.execute(f"DROP TABLE {month_table(month)}")
    with caplog.at_level(logging.ERROR, logger="sharing.partitions"):
        report = sharing_partitions_maintain(now=timezone.now(), ahead=1, retention_months=36, drop=False)
    assert report.months_ahead == 1
    assert any("only 1 months" in r.getMessage() for r in caplog.records)
    with pytest.raises(CommandError, match="only 1 months partitioned ahead"):
        call_command("sharing_partitions", "--check")


@pytest.mark.parametrize("args, message", [
    (["--retention-months", "12"], "at least 36"),
    (["--ahead", "0"], "at least 1"),
    (["--ahead", "1000"], "at most 24"),
])
def test_bad_arguments_are_refused_with_the_reason(db, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("sharing_partitions", *args)
    with pytest.raises(CommandError, match="invalid int"):
        call_command("sharing_partitions", "--ahead", "three")


def test_the_beat_job_is_declared(settings):
    assert settings.CELERY_BEAT_SCHEDULE["sharing-partitions"]["task"] == "sharing.tasks.maintain_sharing_partitions"


def test_the_beat_task_runs_the_same_maintenance(db, settings):
    from sharing.tasks import maintain_sharing_partitions

    settings.SHARING_PARTITIONS_AHEAD = 5
    assert maintain_sharing_partitions() == 2  # the two months beyond the migration's three
    assert month_table(month_add(THIS_MONTH, 5)) in partitions()


def test_a_closed_month_has_its_indexes_rebuilt_once_and_its_records_stay(db, old_months, capsys):
    from sharing.partitions import months_compacted

    owner, ads = make_client(), make_affiliate("Ads Network")
    closed = datetime.combine(month_add(THIS_MONTH, -2), datetime.min.time(), tzinfo=UTC) + timedelta(days=3)
    last_month = datetime.combine(month_add(THIS_MONTH, -1), datetime.min.time(), tzinfo=UTC) + timedelta(days=3)
    for at in (closed, last_month):
        share(ads, owner, at=at)
    call_command("sharing_partitions", "--no-drop")
    assert f"Rebuilt the indexes of {closed:%Y-%m}, closed." in capsys.readouterr().out
    with connection.cursor() as cursor:
        compacted = months_compacted(cursor)
    assert month_first(closed.date()) in compacted and month_first(last_month.date()) not in compacted
    call_command("sharing_partitions", "--no-drop")
    assert "Rebuilt" not in capsys.readouterr().out  # once
    assert [r.shared_at for r in sharing_records_of_client(client=owner)] == [last_month, closed]


def test_a_recipients_last_record_of_each_set_of_fields_is_kept_so_a_correction_still_reaches_it(db, old_months):
    """Correction notices tell a recipient of every field it ever received (the union of its records' fields): the
    phone sent in an old month must still be on record after a newer record carried only the e-mail."""
    owner, ads = make_client(), make_affiliate("Ads Network")
    share(ads, owner, at=OLD, fields=("email", "phone"))
    share(ads, owner, at=OLD + timedelta(hours=1), fields=("email", "phone"))
    share(ads, owner, at=OLD + timedelta(hours=2), fields=("email",))
    call_command("sharing_partitions", stdout=open("/dev/null", "w"))
    kept = sorted((r.shared_at, tuple(r.fields)) for r in SharingRecord.objects.filter(client=owner))
    assert kept == [(OLD + timedelta(hours=1), ("email", "phone")), (OLD + timedelta(hours=2), ("email",))]


# Dropping a month without stopping the portal: the rows to keep are chosen while reads go on, and a lock the job
# cannot get within its timeout leaves the step to the next run.

def _closed_months_marked_compacted():
    from sharing.partitions import month_mark_compacted

    with connection.cursor() as cursor:
        for month in months_partitioned(cursor):
            if month_add(month, 2) <= THIS_MONTH:
                month_mark_compacted(cursor, month)


def _owner_with_an_old_and_a_recent_record():
    """A client whose data went to Ads Network in the oldest month and this one; the closed months' indexes marked
    rebuilt (a rebuild CONCURRENTLY would wait for the tests' own long transactions)."""
    owner, ads = make_client(), make_affiliate("Ads Network")
    share(ads, owner, at=OLD)
    share(ads, owner, at=timezone.now())
    _closed_months_marked_compacted()
    return owner


@pytest.mark.django_db(transaction=True)
def test_reads_go_on_while_the_rows_to_keep_are_chosen_and_a_write_into_the_month_waits(old_months):
    import threading

    from django.db import OperationalError, transaction

    from sharing.partitions import month_drop, month_kept_choose
    from tests.threads import run_in_parallel

    owner, ads = make_client(), make_affiliate("Ads Network")
    share(ads, owner, at=OLD)
    share(ads, owner, at=timezone.now())
    month, chosen, finish, outcome = month_first(OLD.date()), threading.Event(), threading.Event(), {}

    def job():
        with transaction.atomic(), connection.cursor() as cursor:
            month_kept_choose(cursor, month, kept_after=OLD.date(), held=[])
            chosen.set()
            finish.wait(10)
            outcome["dropped, kept"] = month_drop(cursor, month, chosen_for=[], held=[])

    def portal():
        chosen.wait(10)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '1s'")  # a read that had to wait would fail here
        outcome["read"] = len(sharing_records_of_client(client=owner))
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '300ms'")
                share(ads, owner, at=OLD + timedelta(hours=3))
        except OperationalError:
            outcome["write into the month"] = "waited"
        finish.set()

    run_in_parallel([job, portal], together=False)
    assert outcome == {"read": 2, "write into the month": "waited", "dropped, kept": (1, 0)}
    assert SharingRecord.objects.count() == 1 and month_table(month) not in partitions()


def test_a_hold_set_after_the_rows_were_chosen_still_keeps_the_clients_rows(db, old_months, privacy_officer):
    from django.db import transaction

    from sharing import partitions as partitions_module
    from sharing.partitions import month_drop, month_kept_choose

    owner, other, ads = make_client(), make_client("other@example.com"), make_affiliate("Ads Network")
    for client in (owner, other):
        share(ads, client, at=OLD)
        share(ads, client, at=timezone.now())
    month = month_first(OLD.date())
    with transaction.atomic(), connection.cursor() as cursor:
        assert month_kept_choose(cursor, month, kept_after=OLD.date(), held=[]) == 0
        legal_hold_set(client=owner, reason="Court case 2026/12.", keep_until=None, actor=privacy_officer)
        # the holds as the job reads them (rights registers its source), read again under the exclusive lock
        assert month_drop(cursor, month, chosen_for=[], held=partitions_module._held_clients) == (1, 1)
    assert [r.client_id for r in SharingRecord.objects.filter(shared_at__lt=OLD + timedelta(days=1))] == [owner.pk]


@pytest.mark.django_db(transaction=True)
def test_a_long_transaction_on_the_records_leaves_the_drop_to_the_next_run_and_loses_nothing(old_months, caplog):
    import threading
    import time

    from django.db import transaction

    from sharing.partitions import sharing_partitions_maintain
    from tests.threads import run_in_parallel

    _owner_with_an_old_and_a_recent_record()
    month, holding, outcome = month_first(OLD.date()), threading.Event(), {}

    def long_report():  # e.g. an export reading every record in one snapshot
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM sharing_sharingrecord")
            holding.set()
            time.sleep(1.5)

    def job():
        holding.wait(10)
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="sharing.partitions"):
            outcome["report"] = sharing_partitions_maintain(now=timezone.now(), ahead=3, retention_months=36,
                                                            lock_timeout_ms=200)
        outcome["seconds"] = time.monotonic() - started

    run_in_parallel([long_report, job], together=False)
    report = outcome["report"]
    assert report.dropped == [] and report.busy == [f"dropping {month:%Y-%m}"] and outcome["seconds"] < 1.5
    assert "waited longer than 200 ms for its lock" in caplog.text
    assert month_table(month) in partitions() and SharingRecord.objects.count() == 2  # rolled back whole
    report = sharing_partitions_maintain(now=timezone.now(), ahead=3, retention_months=36, lock_timeout_ms=200)
    assert report.dropped[0] == (month, 1, 0) and report.busy == [] and SharingRecord.objects.count() == 1
    assert all(entry[1:] == (0, 0) for entry in report.dropped[1:])  # the empty months after it, old enough too


@pytest.mark.django_db(transaction=True)
def test_a_hold_being_set_while_a_month_is_dropped_is_waited_for_and_keeps_the_clients_rows(old_months, privacy_officer):
    import threading
    import time

    from django.db import transaction

    from sharing.partitions import sharing_partitions_maintain
    from tests.threads import run_in_parallel

    owner = _owner_with_an_old_and_a_recent_record()
    month, setting, outcome = month_first(OLD.date()), threading.Event(), {}

    def legal():  # the hold is written, not yet committed, when the job comes to read the holds
        with transaction.atomic():
            legal_hold_set(client=owner, reason="Court case 2026/12.", keep_until=None, actor=privacy_officer)
            setting.set()
            time.sleep(1.0)

    def job():
        setting.wait(10)
        outcome["report"] = sharing_partitions_maintain(now=timezone.now(), ahead=3, retention_months=36,
                                                        lock_timeout_ms=300)

    run_in_parallel([legal, job], together=False)
    assert outcome["report"].busy == [f"dropping {month:%Y-%m}"] and outcome["report"].overdue
    report = sharing_partitions_maintain(now=timezone.now(), ahead=3, retention_months=36, lock_timeout_ms=300)
    assert report.dropped[0] == (month, 0, 1) and not report.overdue  # the held client's record outlives its month
    assert SharingRecord.objects.filter(client=owner).count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_second_run_while_one_is_at_work_changes_nothing_and_says_so(old_months):
    import threading

    from django.db import transaction

    from sharing import partitions as partitions_module
    from sharing.partitions import sharing_partitions_maintain
    from tests.threads import run_in_parallel

    _owner_with_an_old_and_a_recent_record()
    running, done, outcome = threading.Event(), threading.Event(), {}

    def first_run():  # stands for a run at work: it holds the job's lock
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [partitions_module._RUN_LOCK])
            running.set()
            done.wait(10)

    def second_run():
        running.wait(10)
        outcome["report"] = sharing_partitions_maintain(now=timezone.now(), ahead=3, retention_months=36)
        done.set()

    run_in_parallel([first_run, second_run], together=False)
    report = outcome["report"]
    assert report.dropped == [] and report.busy[0] == "creating the months ahead (another run of the job is at work)"
    assert month_table(month_first(OLD.date())) in partitions() and SharingRecord.objects.count() == 2
