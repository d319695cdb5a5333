from datetime import timedelta

import pytest
from django.utils import timezone

from consent.models import Purpose
from sharing.engagements import engagement_record
from sharing.models import Affiliate, PartnerEngagement
from sharing.services import KIND_FOR_RECIPIENT_CLASS, affiliate_key_create, agreement_create
from tests.processing.helpers import assessments_approve


def make_affiliate(name, *, kind=None, purpose="promotional-sharing", fields=("ip_address", "email"), country="HK",
                   transfer_mechanism=None):
    """An affiliate with an agreement in force for `purpose`; its kind, unless given, the one the purpose's recipient
    class asks for (an affiliated company for promotional sharing, a drop-shipping partner for order fulfilment). One
    outside mainland China (HK by default) transfers under a PIPL standard contract unless told otherwise (a recipient
    abroad without a mechanism receives nothing)."""
    purpose = Purpose.objects.get(code=purpose)
    kind = kind or KIND_FOR_RECIPIENT_CLASS.get(purpose.recipient_class, Affiliate.Kind.PROCESSOR)
    if transfer_mechanism is None:
        mechanisms = Affiliate.TransferMechanism
        transfer_mechanism = mechanisms.NONE if country == "CN" else mechanisms.PIPL_STANDARD_CONTRACT
    affiliate = Affiliate.objects.create(
        name=name, kind=kind, country=country, contact_name="Contact",
        contact_email=f"{name.split()[0].lower()}@partner.example", address=f"1 {name} Road, {country}",
        rights_contact=f"https://{name.split()[0].lower()}.partner.example/privacy", transfer_mechanism=transfer_mechanism,
        transfer_mechanism_reference="" if transfer_mechanism == Affiliate.TransferMechanism.NONE else f"SC-{name[:8]}")
    assessments_approve(recipient=affiliate, purpose=purpose)  # PIPL Art. 55: before its first agreement
    agreement_create(affiliate=affiliate, purpose=purpose, fields=list(fields), valid_from=timezone.now() - timedelta(days=1))
    return affiliate


def engage(partner, clients, *, order_prefix="ORDER", started_at=None, ended_at=None):
    """An order of each client routed to `partner`, as the WMS would record it."""
    started_at = started_at or timezone.now() - timedelta(days=2)
    return [engagement_record(affiliate=partner, client=c, order_reference=f"{order_prefix}-{c.pk}", started_at=started_at,
                              ended_at=ended_at, source=PartnerEngagement.Source.ADMIN)[0] for c in clients]


@pytest.fixture
def ads(db):
    """An affiliated company agreed to receive IP address and email for promotional sharing."""
    return make_affiliate("Ads Network")


@pytest.fixture
def dropship(db):
    """A drop-shipping partner agreed to receive name, phone and shipping address for order fulfilment."""
    return make_affiliate("Dropship Partner", kind=Affiliate.Kind.DROPSHIP_PARTNER, purpose="order-fulfilment",
                          fields=("name", "phone", "shipping_address"), country="CN")


@pytest.fixture
def ads_key(ads):
    return affiliate_key_create(affiliate=ads)[1]


@pytest.fixture
def dropship_key(dropship):
    return affiliate_key_create(affiliate=dropship)[1]


def bearer(key):
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def recipient_purpose(affiliate, code="promotional-sharing"):
    """The purpose through which clients consent to `affiliate` for `code` (consent is per recipient, issue #18)."""
    from sharing.models import RecipientConsent

    return RecipientConsent.objects.get(affiliate=affiliate, purpose__code=code).consent_purpose
