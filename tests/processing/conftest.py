from datetime import timedelta

import pytest
from django.utils import timezone, translation

from accounts.services import staff_user_ensure
from consent.models import Purpose
from sharing.models import Affiliate
from sharing.services import KIND_FOR_RECIPIENT_CLASS, affiliate_save, agreement_create
from tests.conftest import PASSWORD

from .helpers import assessments_approve


@pytest.fixture(autouse=True)
def english():
    """Messages asserted in English, whatever language an earlier test's request left active in this thread."""
    with translation.override("en"):
        yield


@pytest.fixture
def legal_user(db):
    return staff_user_ensure(email="legal@example.com", password=PASSWORD, groups=["Legal"])


def recipient(name, *, country="US", kind=None, purpose="promotional-sharing", fields=("email",), active=True,
              **details):
    """A recipient through the services, assessed and approved (PIPL Art. 55), with one agreement in force. Its kind,
    unless given, the one the purpose's recipient class asks for (a processor for Fulfillmen's own purposes); one
    outside mainland China transfers under a PIPL standard contract unless told otherwise (PIPL Art. 38)."""
    purpose = Purpose.objects.get(code=purpose)
    kind = kind or KIND_FOR_RECIPIENT_CLASS.get(purpose.recipient_class, Affiliate.Kind.PROCESSOR)
    if country != "CN" and "transfer_mechanism" not in details:
        details.update(transfer_mechanism=Affiliate.TransferMechanism.PIPL_STANDARD_CONTRACT,
                       transfer_mechanism_reference=f"SC-{name[:8]}")
    made = affiliate_save(affiliate=Affiliate(name=name, kind=kind, country=country, contact_name="Privacy desk",
                                              contact_email="privacy@recipient.example", **details))
    assessments_approve(recipient=made, purpose=purpose)
    agreement_create(affiliate=made, purpose=purpose, fields=list(fields), valid_from=timezone.now() - timedelta(days=1),
                     reference=f"CTR-{name.split()[0].upper()}")
    if not active:
        made.active = False
        affiliate_save(affiliate=made)
    return made
