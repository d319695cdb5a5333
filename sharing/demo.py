"""Demo affiliates for `manage.py seed_demo`: one affiliated company and one drop-shipping partner, each with the
agreement the privacy policy describes (its kind matching the purpose's recipient class), and one order of the demo
client routed to the partner, so the partner's feed has the client. Safe to run again: what exists is left as it is."""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from accounts.demo import DEMO_CLIENT_EMAIL
from accounts.models import Client
from consent.models import Purpose

from .engagements import engagement_record
from .models import Affiliate, PartnerEngagement, SharingAgreement
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
def demo_affiliates_ensure() -> list[str]:
    """The demo affiliates and their agreements, created once. Returns the names of the affiliates."""
    now = timezone.now()
    for demo in DEMO_AFFILIATES:
        affiliate = Affiliate.objects.filter(name=demo.name).first() or affiliate_save(affiliate=Affiliate(
            name=demo.name, kind=demo.kind, country=demo.country, contact_name="Privacy team",
            contact_email=demo.contact_email))
        purpose = Purpose.objects.get(code=demo.purpose)
        if not SharingAgreement.objects.filter(affiliate=affiliate, purpose=purpose).exists():
            agreement_create(affiliate=affiliate, purpose=purpose, fields=list(demo.fields), valid_from=now,
                             reference=f"DEMO-{demo.purpose.upper()}")
        client = Client.objects.filter(email__iexact=DEMO_CLIENT_EMAIL, erased_at__isnull=True).first()
        if demo.kind == Affiliate.Kind.DROPSHIP_PARTNER and client is not None:
            engagement_record(affiliate=affiliate, client=client, order_reference="DEMO-ORDER-1",
                              started_at=client.created_at, source=PartnerEngagement.Source.ADMIN)
    return [demo.name for demo in DEMO_AFFILIATES]
