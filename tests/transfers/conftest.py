from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.utils import timezone

from accounts.models import Language
from accounts.services import staff_user_ensure
from rights.erasure import erasure_perform, erasure_request
from sharing.models import Affiliate
from sharing.services import affiliate_save
from tests.conftest import PASSWORD, make_client
from tests.processing.helpers import assessments_approve
from transfers.handover import transfer_hand_over
from transfers.services import transfer_publish, transfer_record

ACQUIRER = "Harbour Logistics Holdings Ltd."


@pytest.fixture
def legal(db):
    return staff_user_ensure(email="legal@example.com", password=PASSWORD, groups=["Legal"])


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def zh_client(db):
    """A client who reads Chinese and has no mobile number on file."""
    return make_client("zhang@example.com", country="CN", phone="", full_name="张伟", preferred_language=Language.ZH_HANS)


def acquirer_recipient(name=ACQUIRER, country="HK"):
    """The acquirer as a recipient, as staff must record it before announcing a transfer abroad: a business-transfer
    counterparty with its transfer mechanism (PIPL Art. 38) and an approved impact assessment (Art. 55)."""
    abroad = country != "CN"
    recipient = Affiliate.objects.filter(name=name).first() or affiliate_save(affiliate=Affiliate(
        name=name, kind=Affiliate.Kind.BUSINESS_TRANSFER, country=country, contact_name="Mei Chan",
        contact_email="privacy@harbour.example", address="1 Harbour Road\nHong Kong",
        rights_contact="privacy@harbour.example",
        transfer_mechanism=Affiliate.TransferMechanism.PIPL_STANDARD_CONTRACT if abroad else Affiliate.TransferMechanism.NONE,
        transfer_mechanism_reference="SC-HARBOUR-1" if abroad else ""))
    assessments_approve(recipient=recipient)
    return recipient


def draft(recorded_by, **changes):
    today = timezone.localdate()
    if "affiliate" not in changes and changes.get("acquirer_country", "HK") != "CN":
        changes["affiliate"] = acquirer_recipient(changes.get("acquirer_name", ACQUIRER))
    values = dict(kind="acquisition", acquirer_name=ACQUIRER, acquirer_contact_name="Mei Chan",
                  acquirer_contact_email="privacy@harbour.example", acquirer_address="1 Harbour Road\nHong Kong",
                  acquirer_country="HK", data_categories=["name", "email", "shipping_address"],
                  objection_deadline=today + timedelta(days=30), handover_on=today + timedelta(days=31))
    return transfer_record(recorded_by=recorded_by, **{**values, **changes})


def erase(client):
    request = erasure_request(client=client, actor=client.user)
    return erasure_perform(request=request, now=request.scheduled_for + timedelta(minutes=1))


def after_deadline(transfer):
    """The day after the objection deadline and on the handover date (a time_machine destination)."""
    return timezone.make_aware(datetime.combine(transfer.handover_on, time(10)))


@pytest.fixture
def announced(privacy_officer, legal, owner, outsider, media):
    """Announced to the owner and the outsider; the acquirer (in Hong Kong) recorded as a recipient beforehand."""
    return transfer_publish(transfer=draft(privacy_officer), approver=legal)


def hand_over(transfer, actor):
    """The handover itself, on the announced day (the worker's part, run here)."""
    with time_machine.travel(after_deadline(transfer), tick=False):
        return transfer_hand_over(transfer=transfer, actor=actor)
