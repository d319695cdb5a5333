"""One draft business transfer for the demo: a privacy officer recorded it; another privacy officer or Legal may
announce it from the admin. Created once."""

from datetime import timedelta

from django.utils import timezone

from accounts.models import User

from .models import BusinessTransfer
from .services import transfer_record

DEMO_ACQUIRER = "Harbour Logistics Holdings Ltd."


def demo_transfer_ensure(*, recorded_by_email: str = "privacy@demo.test") -> BusinessTransfer | None:
    found = BusinessTransfer.objects.filter(acquirer_name=DEMO_ACQUIRER).first()
    officer = User.objects.filter(email=recorded_by_email).first()
    if found is not None or officer is None:
        return found
    today = timezone.localdate()
    return transfer_record(
        recorded_by=officer, kind=BusinessTransfer.Kind.ASSET_SALE, acquirer_name=DEMO_ACQUIRER,
        acquirer_contact_name="Data Protection Officer", acquirer_contact_email="dpo@harbour-logistics.example",
        acquirer_address="18 Harbour Road, Wan Chai, Hong Kong", acquirer_country="HK",
        data_categories=["name", "email", "phone", "shipping_address"], scope_jurisdictions=["us-ca"],
        objection_deadline=today + timedelta(days=30), handover_on=today + timedelta(days=45))
