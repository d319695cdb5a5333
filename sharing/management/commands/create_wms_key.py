"""`manage.py create_wms_key "<system name>"`: a key for Fulfillmen's own WMS to record partner engagements.

The key is printed once, alone on the last line; only its hash is stored. It opens /api/internal/v1/engagements/
and nothing else; an affiliate's key is refused there. Revoke it in the admin (Sharing > WMS keys).
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from sharing.services import wms_key_create


class Command(BaseCommand):
    help = "Create a WMS key (records partner engagements). Printed once, alone on the last line; only its hash is kept."

    def add_arguments(self, parser):
        parser.add_argument("name", help="which system uses it, e.g. 'WMS production'")

    def handle(self, *args, name, **options):
        try:
            wms_key, key = wms_key_create(name=name)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(f"Created WMS key {wms_key.prefix} for {wms_key.name!r}. Store it now: it cannot be shown again.")
        self.stdout.write(key)
