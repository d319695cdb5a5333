"""`manage.py recipient_consents_sync`: make the per-recipient consent of every agreement and record each client's
default for it (docs/recipients.md). Creating an agreement does this itself; run it once after upgrading a database
whose agreements predate per-recipient consent (until then their recipients receive nobody for a consent purpose),
and whenever you want to be sure no client lacks a default. Safe to run again."""

from django.core.management.base import BaseCommand

from sharing.services import recipient_consents_sync


class Command(BaseCommand):
    help = "Make every agreement's per-recipient consent and record missing defaults in the consent ledger (idempotent)."

    def handle(self, *args, **options):
        count = recipient_consents_sync()
        self.stdout.write(self.style.SUCCESS(f"{count} per-recipient consent purposes, every client with a state for each."))
