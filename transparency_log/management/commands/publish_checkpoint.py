from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from transparency_log.checkpoints import checkpoint_publish, latest_checkpoint


class Command(BaseCommand):
    help = ("Append the ledger events not yet in the public consent log and publish a signed checkpoint now, if the "
            "tree grew (the beat task does the same every LOG_CHECKPOINT_SECONDS).")

    def handle(self, *args, **options):
        try:
            checkpoint = checkpoint_publish()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from None
        if checkpoint is None:
            latest = latest_checkpoint()
            self.stdout.write("Nothing new to publish: " + (
                f"the latest checkpoint already covers all {latest.tree_size} events." if latest else "the log is empty."))
            return
        self.stdout.write(self.style.SUCCESS(f"Published checkpoint {checkpoint.tree_size}:"))
        self.stdout.write(checkpoint.note, ending="")
