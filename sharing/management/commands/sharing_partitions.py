"""`manage.py sharing_partitions`: sharing records' monthly partitions (sharing/partitions.py, docs/retention.md).
Creates the months from this one to `--ahead` months ahead, moves any row the DEFAULT partition caught into its
month, drops the months that ended `--retention-months` ago, keeping the rows that must outlive them, and rebuilds
the indexes of each month closed a month ago, once. Run daily
by Celery beat (`sharing-partitions`); safe to run again. `--check` changes nothing and fails on an alarm."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from sharing.partitions import (
    ALARM_MONTHS_AHEAD,
    DEFAULT,
    MAX_MONTHS_AHEAD,
    MIN_RETENTION_MONTHS,
    default_rows,
    month_add,
    month_first,
    months_partitioned,
    sharing_partitions_maintain,
)


class Command(BaseCommand):
    help = "Create sharing records' monthly partitions ahead and drop months past the retention period."

    def add_arguments(self, parser):
        parser.add_argument("--ahead", type=int, default=settings.SHARING_PARTITIONS_AHEAD,
                            help="Months to partition ahead of this one (default SHARING_PARTITIONS_AHEAD).")
        parser.add_argument("--retention-months", type=int, default=settings.SHARING_RECORD_RETENTION_MONTHS,
                            help=f"Drop months that ended this many months ago (at least {MIN_RETENTION_MONTHS}).")
        parser.add_argument("--no-drop", action="store_true", help="Only create months; drop none.")
        parser.add_argument("--check", action="store_true", help="Change nothing; fail if an alarm is raised.")

    def handle(self, *args, ahead, retention_months, no_drop, check, **options):
        if connection.vendor != "postgresql":
            raise CommandError("Sharing records are partitioned on PostgreSQL only.")
        if not 1 <= ahead <= MAX_MONTHS_AHEAD:
            raise CommandError(f"--ahead must be at least 1 and at most {MAX_MONTHS_AHEAD} (months partitioned ahead "
                               "of this one).")
        if retention_months < MIN_RETENTION_MONTHS:
            raise CommandError(f"--retention-months must be at least {MIN_RETENTION_MONTHS}: sharing records are "
                               "evidence kept at least 3 years (PIPL Art. 56).")
        if check:
            return self._check()
        report = sharing_partitions_maintain(now=timezone.now(), ahead=ahead, retention_months=retention_months,
                                             drop=not no_drop, lock_timeout_ms=settings.SHARING_PARTITIONS_LOCK_TIMEOUT_MS)
        for month in report.created:
            self.stdout.write(f"Created the partition of {month:%Y-%m}.")
        if report.moved_from_default:
            self.stdout.write(f"Moved {report.moved_from_default} records from {DEFAULT} into their months.")
        for month, dropped, kept in report.dropped:
            self.stdout.write(f"Dropped {month:%Y-%m}: {dropped} records deleted, {kept} kept (withheld, under a legal "
                              "hold, or a recipient's last record).")
        for month in report.compacted:
            self.stdout.write(f"Rebuilt the indexes of {month:%Y-%m}, closed.")
        if report.pruned:
            self.stdout.write(f"Deleted {report.pruned} kept records that no longer need keeping.")
        for step in report.busy:
            self.stderr.write(self.style.WARNING(
                f"Not done: {step} waited longer than {settings.SHARING_PARTITIONS_LOCK_TIMEOUT_MS} ms for its lock on "
                "the sharing records (a long transaction holds them); the next run does it."))
        for alarm in report.alarms:
            self.stderr.write(self.style.ERROR(f"Alarm: {alarm}."))
        self.stdout.write(self.style.SUCCESS(f"{report.months_ahead} months partitioned ahead."))

    def _check(self):
        this_month = month_first(timezone.now().date())
        with connection.cursor() as cursor:
            months = months_partitioned(cursor)
            ahead = sum(1 for m in months if m > this_month)
            stray = default_rows(cursor)
        problems = []
        if stray:
            problems.append(f"{stray} records in the DEFAULT partition {DEFAULT}")
        if ahead < ALARM_MONTHS_AHEAD:
            problems.append(f"only {ahead} months partitioned ahead (fewer than {ALARM_MONTHS_AHEAD})")
        cutoff = month_add(this_month, -settings.SHARING_RECORD_RETENTION_MONTHS)
        overdue = [m for m in months if month_add(m, 1) <= cutoff]
        if overdue:
            problems.append(f"{len(overdue)} months past the retention period still kept, the oldest {overdue[0]:%Y-%m} "
                            "(a lock the job waited for too long, see its log)")
        if problems:
            raise CommandError("; ".join(problems) + ". Run `manage.py sharing_partitions`.")
        self.stdout.write(self.style.SUCCESS(f"{ahead} months partitioned ahead; the DEFAULT partition is empty."))
