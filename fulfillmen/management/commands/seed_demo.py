"""Demo data: `manage.py seed_demo [--clients N] [--password P]`. Safe to run again."""

import secrets
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.demo import demo_people_ensure, synthetic_clients_create
from accounts.models import User
from accounts.two_factor import staff_totp_device_ensure, totp_uri
from amendments.services import policy_first_version_ensure
from consent.bulk import consent_defaults_bulk_record
from processing.demo import demo_assessments_ensure
from sharing.demo import demo_affiliates_ensure
from transfers.demo import demo_transfer_ensure

POLICY_DIR = Path(__file__).resolve().parents[3] / "amendments" / "seed"


def _non_negative(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise CommandError(f"--clients takes a whole number, not {value!r}") from None
    if number < 0:
        raise CommandError(f"--clients cannot be negative (got {number})")
    return number


class Command(BaseCommand):
    help = (
        "Create the first policy version, the demo client and staff logins (idempotent: a second run changes only "
        "their password) and, with --clients N, add exactly N synthetic clients with their consent defaults."
    )

    def add_arguments(self, parser):
        parser.add_argument("--clients", type=_non_negative, default=0, help="add exactly N synthetic clients")
        parser.add_argument("--password", default=None, help="password for every demo login (default: a random one, printed)")
        parser.add_argument("--seed", type=int, default=None, help="random seed for the synthetic clients")

    def handle(self, *args, clients, password, seed, **options):
        password = password or secrets.token_urlsafe(12)
        if len(password) < 8:
            raise CommandError("--password must be at least 8 characters long")
        policy_first_version_ensure(
            label="1.0",
            body_en=(POLICY_DIR / "policy-1.0.en.md").read_text(),
            body_zh_hans=(POLICY_DIR / "policy-1.0.zh-hans.md").read_text(),
            summary="The privacy policy in plain words, with every promise checkable in the portal.",
            summary_zh_hans="用平实语言写成的隐私政策，其中每一项承诺都可以在门户中核实。",
        )
        logins = demo_people_ensure(password=password)
        # An agreement needs an approved impact assessment of its recipient first (PIPL Art. 55).
        affiliates = demo_affiliates_ensure(before_agreements=lambda made: demo_assessments_ensure(recipients=made))
        demo_transfer_ensure()  # a draft business transfer, to announce from the admin
        if clients:
            with tqdm(total=clients, unit="client", desc="Synthetic clients", disable=options["verbosity"] == 0) as bar:
                synthetic_clients_create(count=clients, progress=bar.update, seed=seed,
                                         on_batch=lambda batch: consent_defaults_bulk_record(clients=batch))
            self.stdout.write(f"Added {clients} synthetic clients.")
        self.stdout.write(self.style.SUCCESS("Demo logins (password: %s)" % password))
        for email, role in logins:
            self.stdout.write(f"  {email:<22} {role}")
        self._staff_second_factors_ensure(logins)
        self.stdout.write("Demo affiliates (API key: manage.py create_affiliate_key \"<name>\"): " + ", ".join(affiliates))

    def _staff_second_factors_ensure(self, logins):
        """Each demo staff login keeps one TOTP device (the admin asks for its code); its URI goes into an app."""
        staff = {user.email: user for user in User.objects.filter(email__in=[email for email, _ in logins], is_staff=True)}
        self.stdout.write("Staff also type a code from an authenticator app at /admin/login/: add each URI to the app "
                          "(as a QR code, or type its secret=…):")
        for email in (email for email, _ in logins if email in staff):
            self.stdout.write(f"  {email:<22} {totp_uri(staff_totp_device_ensure(staff[email]))}")
