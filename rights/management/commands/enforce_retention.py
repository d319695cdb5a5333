"""`manage.py enforce_retention [--dry-run]`: what has passed its retention period, per rule — deleted, anonymised or
erased, or with --dry-run only counted (nothing changes). The daily beat task runs the same service."""

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from rights.retention.enforce import retention_enforce
from rights.retention.rules import Action

VERB = {Action.DELETE: "deleted", Action.ANONYMISE: "anonymised", Action.ERASE: "erased", Action.WARN: "warned",
        Action.KEEP: "kept"}
WOULD = {Action.DELETE: "would delete", Action.ANONYMISE: "would anonymise", Action.ERASE: "would erase",
         Action.WARN: "would warn", Action.KEEP: "kept"}


class Command(BaseCommand):
    help = ("Delete or anonymise what has passed its retention period (rights/retention/rules.py), respecting legal "
            "holds, and warn dormant accounts before their erasure; --dry-run prints the counts per category and "
            "changes (and sends) nothing.")

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="count what would be done; change nothing")

    def handle(self, *args, dry_run, **options):
        try:
            outcomes = retention_enforce(dry_run=dry_run)
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        width = max(len(o.code) for o in outcomes)
        self.stdout.write("Dry run: nothing was changed." if dry_run else "Retention enforced.")
        for o in outcomes:
            if o.action == Action.KEEP:
                line = "kept: evidence, never shortened"
            else:
                line = f"{(WOULD if dry_run else VERB)[o.action]}: {o.done}; kept: legal hold: {o.held}"
                if o.failed:
                    line += f"; failed (see the log, tried again next run): {o.failed}"
            self.stdout.write(f"  {o.code.ljust(width)}  {line}   ({o.title})")
        failed = sum(o.failed for o in outcomes)
        if failed:
            raise CommandError(f"{failed} item(s) could not be dealt with; they are tried again on the next run.")
