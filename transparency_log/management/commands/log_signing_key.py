from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from transparency_log.note import KeyError_, NoteSigner


class Command(BaseCommand):
    help = ("Print the consent log's verifier key, or make a signer key: --generate prints a new one for "
            "LOG_SIGNING_KEY; --dev writes the development key `make run` uses, once, when LOG_SIGNING_KEY is unset.")

    def add_arguments(self, parser):
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--generate", action="store_true", help="Print a new signer key (keep it secret).")
        action.add_argument("--dev", action="store_true", help="Write a development key if none is configured.")
        parser.add_argument("--name", default=None, help="The key's name (default: LOG_ORIGIN).")

    def handle(self, *args, generate, dev, name, **options):
        name = name or settings.LOG_ORIGIN
        try:
            if generate:
                self.stdout.write(NoteSigner.generate(name))
            elif dev:
                self._dev_key(name)
            elif not settings.LOG_SIGNING_KEY:
                raise CommandError("LOG_SIGNING_KEY is not set (`--generate` makes one).")
            else:
                self.stdout.write(NoteSigner.from_skey(settings.LOG_SIGNING_KEY).vkey)
        except KeyError_ as exc:
            raise CommandError(f"Not a usable key: {exc}.") from None

    def _dev_key(self, name: str) -> None:
        if settings.LOG_SIGNING_KEY:
            return
        path = settings.DEV_LOG_SIGNING_KEY_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)  # readable by its owner only, before the key is in it
        path.write_text(NoteSigner.generate(name) + "\n")
        self.stdout.write(f"Generated a development signing key for the consent log in {path} "
                          "(development only: production sets LOG_SIGNING_KEY).")
