import sys

from django.core.management.base import BaseCommand

from consent.verification import ledger_verify


class Command(BaseCommand):
    help = "Re-compute every client's consent chain. Exit 0 when intact; exit 1 naming each offending row."

    def handle(self, *args, **options):
        report = ledger_verify()
        if report.intact:
            self.stdout.write(self.style.SUCCESS(f"Ledger intact: {report.events} events in {report.chains} chains verified."))
            return
        for problem in report.problems:
            self.stderr.write(problem)
        self.stderr.write(self.style.ERROR(f"Ledger NOT intact: {len(report.problems)} problem(s) in {report.events} events."))
        sys.exit(1)
