"""Show the consent defaults per jurisdiction, or choose opt-in for every client (PIPL Art. 3).

    python manage.py consent_defaults                       # the rules in force, one line each
    python manage.py consent_defaults --opt-in-everywhere   # every consent purpose starts withdrawn everywhere
"""

from django.core.management.base import BaseCommand

from consent.models import ConsentDefaultRule
from consent.services import consent_defaults_opt_in_everywhere


class Command(BaseCommand):
    help = "Show the consent default rules, or make every consent purpose opt-in in every jurisdiction."

    def add_arguments(self, parser):
        parser.add_argument("--opt-in-everywhere", action="store_true",
                            help="Every consent purpose starts withdrawn for clients who arrive from now on, "
                                 "in every jurisdiction (PIPL Art. 3). Past events never change.")

    def handle(self, *args, **options):
        if options["opt_in_everywhere"]:
            changed = consent_defaults_opt_in_everywhere()
            self.stdout.write(f"{changed} rule(s) changed to opt-in." if changed else "Every rule was already opt-in.")
        for rule in ConsentDefaultRule.objects.select_related("purpose").order_by("jurisdiction", "purpose__code"):
            model = "opt-out" if rule.granted_by_default else "opt-in"
            scope = rule.purpose.code if rule.purpose else "all consent purposes"
            self.stdout.write(f"{rule.jurisdiction}\t{scope}\t{model}\t{rule.note}")
