"""`manage.py create_affiliate_key "<affiliate name>" [--expires-in-days N] [--name TEXT]`.

The key is printed once, alone on the last line (so `| tail -n 1` hands it to a script); only its hash is stored.
"""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from sharing.models import Affiliate
from sharing.services import affiliate_key_create


def _positive_days(value) -> int | None:
    if value is None:
        return None
    try:
        days = int(str(value).strip())
    except ValueError:
        raise CommandError(f"--expires-in-days takes a whole number of days, not {value!r}") from None
    if days <= 0:
        raise CommandError(f"--expires-in-days must be a positive number of days (got {days})")
    return days


def _affiliate_named(name: str) -> Affiliate:
    affiliate = Affiliate.objects.filter(name=name).first()
    if affiliate is None:  # processors are not "known" here: they get no key
        matches = list(Affiliate.objects.filter(name__iexact=name)[:2])
        affiliate = matches[0] if len(matches) == 1 else None
    if affiliate is None:
        known = list(Affiliate.objects.exclude(kind=Affiliate.Kind.PROCESSOR).order_by("name").values_list("name", flat=True))
        listed = ", ".join(repr(n) for n in known) if known else "none yet (add one in the admin)"
        raise CommandError(f"No affiliate named {name!r}. Known affiliates: {listed}.")
    if affiliate.kind == Affiliate.Kind.PROCESSOR:
        raise CommandError(f"{affiliate.name!r} is a processor: it receives no client feed, so it gets no API key.")
    if not affiliate.active:
        raise CommandError(f"The affiliate {affiliate.name!r} is inactive: the API would refuse its keys.")
    return affiliate


class Command(BaseCommand):
    help = "Create an API key for an affiliate. The key is printed once, alone on the last line; only its hash is kept."

    def add_arguments(self, parser):
        parser.add_argument("affiliate", help="the affiliate's name, exactly as in the admin")
        parser.add_argument("--expires-in-days", dest="expires_in_days", default=None, metavar="N",
                            help="the key stops working after N days (default: it does not expire)")
        parser.add_argument("--name", default="", help="what the key is for, e.g. 'nightly sync'")

    def handle(self, *args, affiliate, expires_in_days, name, **options):
        days = _positive_days(expires_in_days)
        target = _affiliate_named(affiliate)
        expires_at = timezone.now() + timedelta(days=days) if days else None
        try:
            api_key, key = affiliate_key_create(affiliate=target, name=name, expires_at=expires_at)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        expiry = f"expires {api_key.expires_at.isoformat(timespec='seconds')}" if api_key.expires_at else "does not expire"
        self.stdout.write(f"Created API key {api_key.prefix} for {target.name!r} ({expiry}). "
                          "Store it now: it cannot be shown again.")
        self.stdout.write(key)
