from datetime import timedelta

import pytest
from django.utils import timezone, translation

from accounts.services import staff_user_ensure
from consent.models import Purpose
from sharing.models import Affiliate
from sharing.services import affiliate_save, agreement_create
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


def recipient(name, *, country="US", kind=Affiliate.Kind.PROCESSOR, purpose="promotional-sharing",
              fields=("email",), active=True, **details):
    """A recipient through the services, assessed and approved (PIPL Art. 55), with one agreement in force."""
    made = affiliate_save(affiliate=Affiliate(name=name, kind=kind, country=country, contact_name="Privacy desk",
                                              contact_email="privacy@recipient.example", **details))
    purpose = Purpose.objects.get(code=purpose)
    assessments_approve(recipient=made, purpose=purpose)
    agreement_create(affiliate=made, purpose=purpose, fields=list(fields), valid_from=timezone.now() - timedelta(days=1),
                     reference=f"CTR-{name.split()[0].upper()}")
    if not active:
        made.active = False
        affiliate_save(affiliate=made)
    return made
