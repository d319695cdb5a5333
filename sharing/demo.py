"""Demo affiliates for `manage.py seed_demo`: one affiliated company and one drop-shipping partner, each with the
agreement the privacy policy describes. Safe to run again: what exists is left as it is."""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from consent.models import Purpose

from .models import Affiliate, SharingAgreement
from .services import affiliate_save, agreement_create


@dataclass(frozen=True)
class DemoAffiliate:
    name: str
    kind: str
    country: str
    contact_email: str
    purpose: str
    fields: tuple[str, ...]


DEMO_AFFILIATES = [
    DemoAffiliate("Demo Ads Network", Affiliate.Kind.AFFILIATED_COMPANY, "HK", "privacy@ads.demo.test",
                  "promotional-sharing", ("ip_address", "email")),
    DemoAffiliate("Demo Dropship Partner", Affiliate.Kind.DROPSHIP_PARTNER, "CN", "privacy@dropship.demo.test",
                  "order-fulfilment", ("name", "phone", "shipping_address")),
]


@transaction.atomic
def demo_affiliates_ensure(*, before_agreements: Callable[[list[Affiliate]], None] | None = None) -> list[str]:
    """The demo affiliates and their agreements, created once. Returns the names of the affiliates.

    `before_agreements(affiliates)` runs between the two: an agreement needs an approved impact assessment of its
    recipient (PIPL Art. 55), which `seed_demo` records there (processing/demo.py)."""
    now = timezone.now()
    affiliates = [Affiliate.objects.filter(name=demo.name).first() or affiliate_save(affiliate=Affiliate(
        name=demo.name, kind=demo.kind, country=demo.country, contact_name="Privacy team",
        contact_email=demo.contact_email)) for demo in DEMO_AFFILIATES]
    if before_agreements:
        before_agreements(affiliates)
    for demo, affiliate in zip(DEMO_AFFILIATES, affiliates, strict=True):
        purpose = Purpose.objects.get(code=demo.purpose)
        if not SharingAgreement.objects.filter(affiliate=affiliate, purpose=purpose).exists():
            agreement_create(affiliate=affiliate, purpose=purpose, fields=list(demo.fields), valid_from=now,
                             reference=f"DEMO-{demo.purpose.upper()}")
    return [demo.name for demo in DEMO_AFFILIATES]
