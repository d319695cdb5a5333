from datetime import timedelta

import pytest
from django.utils import timezone

from consent.models import Purpose
from sharing.models import Affiliate
from sharing.services import affiliate_key_create, agreement_create
from tests.processing.helpers import assessments_approve


def make_affiliate(name, *, kind=Affiliate.Kind.AFFILIATED_COMPANY, purpose="promotional-sharing", fields=("ip_address", "email"),
                   country="HK", transfer_mechanism=None):
    """An affiliate with an agreement in force. One outside mainland China (HK by default) transfers under a PIPL
    standard contract unless told otherwise (a recipient abroad without a mechanism receives nothing)."""
    if transfer_mechanism is None:
        mechanisms = Affiliate.TransferMechanism
        transfer_mechanism = mechanisms.NONE if country == "CN" else mechanisms.PIPL_STANDARD_CONTRACT
    affiliate = Affiliate.objects.create(
        name=name, kind=kind, country=country, contact_name="Contact",
        contact_email=f"{name.split()[0].lower()}@partner.example", address=f"1 {name} Road, {country}",
        rights_contact=f"https://{name.split()[0].lower()}.partner.example/privacy", transfer_mechanism=transfer_mechanism,
        transfer_mechanism_reference="" if transfer_mechanism == Affiliate.TransferMechanism.NONE else f"SC-{name[:8]}")
    purpose = Purpose.objects.get(code=purpose)
    assessments_approve(recipient=affiliate, purpose=purpose)  # PIPL Art. 55: before its first agreement
    agreement_create(affiliate=affiliate, purpose=purpose, fields=list(fields), valid_from=timezone.now() - timedelta(days=1))
    return affiliate


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
