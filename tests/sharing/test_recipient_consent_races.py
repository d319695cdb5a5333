"""A new recipient's defaults are written for every client while those clients keep changing their minds: no chain
forks, and no client who withdrew from all recipients is left granted for the new one, whichever commits first."""

import pytest
from django.core.management import call_command
from django.utils import timezone

from consent.models import Channel, ConsentAction, ConsentState, Purpose
from consent.services import consent_record
from sharing.models import Affiliate, RecipientConsent
from sharing.services import affiliate_save, agreement_create
from tests.conftest import make_client
from tests.processing.helpers import assessments_approve
from tests.threads import run_in_parallel

pytestmark = pytest.mark.django_db(transaction=True)


def test_withdrawals_from_all_recipients_racing_a_new_recipients_defaults_leave_no_one_granted_for_it():
    promo = Purpose.objects.get(code="promotional-sharing")
    clients = [make_client(f"ca{n}@example.com", country="US", region="US-CA", phone="+14155552671") for n in range(30)]
    loyalty = affiliate_save(affiliate=Affiliate(name="Loyalty Club", kind=Affiliate.Kind.AFFILIATED_COMPANY,
                                                 country="CN", contact_name="C", contact_email="c@loyalty.example"))
    assessments_approve(recipient=loyalty, purpose=promo)  # PIPL Art. 55: before its first agreement

    def new_recipient():
        agreement_create(affiliate=loyalty, purpose=promo, fields=["email"], valid_from=timezone.now())

    def withdraw_all():
        for client in clients[::2]:
            consent_record(client=client, purpose=promo, action=ConsentAction.WITHDRAW, channel=Channel.PORTAL)

    run_in_parallel([new_recipient, withdraw_all])
    child = RecipientConsent.objects.get(affiliate=loyalty).consent_purpose
    states = dict(ConsentState.objects.filter(purpose=child).values_list("client_id", "granted"))
    assert {c.pk: states[c.pk] for c in clients} == {c.pk: i % 2 == 1 for i, c in enumerate(clients)}
    call_command("verify_ledger")
