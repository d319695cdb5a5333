"""Demo affiliates for `manage.py seed_demo`: two affiliated companies receiving data for promotional sharing (one in
Hong Kong, abroad from mainland China under a PIPL standard contract, one in mainland China) and one drop-shipping
partner, each with the agreement the privacy policy describes, and each with the details a client is shown before
consenting to it (each kind matching its purpose's recipient class). The demo client's order is routed to the
partner, so the partner's feed has the client. Safe to run again: what exists is kept, a demo affiliate lacking those
details gets them, and every per-recipient consent with its defaults is made (`recipient_consents_sync`)."""

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from accounts.demo import DEMO_CLIENT_EMAIL
from accounts.models import Client
from consent.models import Purpose

from .engagements import engagement_record
from .models import Affiliate, PartnerEngagement, SharingAgreement
from .services import affiliate_save, agreement_create, recipient_consents_sync

Mechanism = Affiliate.TransferMechanism


@dataclass(frozen=True)
class DemoAffiliate:
    name: str
    kind: str
    country: str
    contact_email: str
    purpose: str
    fields: tuple[str, ...]
    address: str
    rights_contact: str
    transfer_mechanism: str = Mechanism.NONE
    transfer_mechanism_reference: str = ""


DEMO_AFFILIATES = [
    DemoAffiliate("Demo Ads Network", Affiliate.Kind.AFFILIATED_COMPANY, "HK", "privacy@ads.demo.test",
                  "promotional-sharing", ("ip_address", "email"),
                  address="Unit 1201, 88 Queensway, Admiralty, Hong Kong",
                  rights_contact="https://ads.demo.test/privacy-requests",
                  transfer_mechanism=Mechanism.PIPL_STANDARD_CONTRACT,
                  transfer_mechanism_reference="CAC-SC-DEMO-2026-0042"),
    DemoAffiliate("Demo Loyalty Club", Affiliate.Kind.AFFILIATED_COMPANY, "CN", "privacy@loyalty.demo.test",
                  "promotional-sharing", ("email",),
                  address="18 Keyuan Road, Nanshan District, Shenzhen, Guangdong", rights_contact="privacy@loyalty.demo.test"),
    DemoAffiliate("Demo Dropship Partner", Affiliate.Kind.DROPSHIP_PARTNER, "CN", "privacy@dropship.demo.test",
                  "order-fulfilment", ("name", "phone", "shipping_address"),
                  address="6 Huanan Road, Longgang District, Shenzhen, Guangdong", rights_contact="privacy@dropship.demo.test"),
]


def _details(demo: DemoAffiliate) -> dict:
    return {"address": demo.address, "rights_contact": demo.rights_contact, "transfer_mechanism": demo.transfer_mechanism,
            "transfer_mechanism_reference": demo.transfer_mechanism_reference}


@transaction.atomic
def demo_affiliates_ensure(*, before_agreements: Callable[[list[Affiliate]], None] | None = None) -> list[str]:
    """The demo affiliates and their agreements, created once. Returns the names of the affiliates.

    `before_agreements(affiliates)` runs between the two: an agreement needs an approved impact assessment of its
    recipient (PIPL Art. 55), which `seed_demo` records there (processing/demo.py)."""
    now = timezone.now()
    affiliates = []
    for demo in DEMO_AFFILIATES:
        affiliate = Affiliate.objects.filter(name=demo.name).first()
        if affiliate is None:
            affiliate = affiliate_save(affiliate=Affiliate(
                name=demo.name, kind=demo.kind, country=demo.country, contact_name="Privacy team",
                contact_email=demo.contact_email, **_details(demo)))
        elif not affiliate.address:  # made by an earlier seed, before recipients had these details
            for name, value in _details(demo).items():
                setattr(affiliate, name, value)
            affiliate_save(affiliate=affiliate)
        affiliates.append(affiliate)
    if before_agreements:
        before_agreements(affiliates)
    for demo, affiliate in zip(DEMO_AFFILIATES, affiliates, strict=True):
        purpose = Purpose.objects.get(code=demo.purpose)
        if not SharingAgreement.objects.filter(affiliate=affiliate, purpose=purpose).exists():
            agreement_create(affiliate=affiliate, purpose=purpose, fields=list(demo.fields), valid_from=now,
                             reference=f"DEMO-{demo.purpose.upper()}")
        client = Client.objects.filter(email__iexact=DEMO_CLIENT_EMAIL, erased_at__isnull=True).first()
        if demo.kind == Affiliate.Kind.DROPSHIP_PARTNER and client is not None:
            engagement_record(affiliate=affiliate, client=client, order_reference="DEMO-ORDER-1",
                              started_at=client.created_at, source=PartnerEngagement.Source.ADMIN)
    recipient_consents_sync()
    return [demo.name for demo in DEMO_AFFILIATES]
