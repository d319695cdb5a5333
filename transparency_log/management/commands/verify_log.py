import sys

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from consent.verification import ledger_verify
from tools.verify_receipt import VerificationError
from transparency_log.verification import log_verify


class Command(BaseCommand):
    help = ("Recompute the public consent log from the ledger and check it against every published checkpoint "
            "(pinned key, root, consistency of each consecutive pair) and the witness file; and, unless --log-only, "
            "recompute every entry hash from its event's content (verify_ledger), since the log holds only the hashes. "
            "Exit 0 when intact; exit 1 naming every problem and the first bad leaf index.")

    def add_arguments(self, parser):
        parser.add_argument("--log-only", action="store_true",
                            help="Skip the recomputation of the entry hashes from the events' content.")

    def handle(self, *args, log_only, **options):
        try:
            report = log_verify()
        except (ImproperlyConfigured, ValueError, VerificationError) as exc:
            raise CommandError(f"Cannot verify the consent log: {exc}") from None
        ledger = None if log_only else ledger_verify()
        problems = report.problems + ([f"ledger: {problem}" for problem in ledger.problems] if ledger else [])
        if not problems:
            self.stdout.write(self.style.SUCCESS(
                f"Consent log intact: {report.leaves} leaves, {report.checkpoints} checkpoint(s) verified"
                + ("." if ledger is None else f"; every entry hash matches its event ({ledger.events} events).")))
            return
        for problem in problems:
            self.stderr.write(problem)
        first = "" if report.first_bad_index is None else f" First bad index: {report.first_bad_index}."
        self.stderr.write(self.style.ERROR(
            f"Consent log NOT intact: {len(problems)} problem(s) in {report.leaves} leaves.{first}"))
        sys.exit(1)
