"""A transfer's new purpose (PIPL Art. 22) is offered only to the clients the transfer concerns: under "Your choices",
at sign-up (one by one and in bulk) and through the consent buttons, nobody else meets it."""

import pytest
from django.urls import reverse

from accounts.demo import synthetic_clients_create
from consent.bulk import consent_defaults_bulk_record
from consent.models import ConsentEvent, ConsentState
from consent.verification import ledger_verify
from tests.conftest import make_client
from transfers.services import transfer_publish

from .conftest import ACQUIRER, draft

pytestmark = pytest.mark.django_db
TITLE = f"{ACQUIRER}: a new use of your data"


@pytest.fixture
def new_purpose(privacy_officer, legal, owner, outsider):
    """A transfer of the clients living in Germany (the owner; not the outsider, in France) with a new purpose."""
    transfer = transfer_publish(transfer=draft(
        privacy_officer, scope_countries=["DE"], changes_purpose=True, new_purpose_en="Insurance offers.",
        new_purpose_zh_hans="保险推广。"), approver=legal)
    return transfer.new_purpose


def test_fresh_consent_for_a_transfer_is_offered_only_to_the_clients_it_concerns(new_purpose, owner, outsider, client):
    change = reverse("consent:change", args=[new_purpose.code])
    client.force_login(outsider.user)
    choices = client.get(reverse("consent:choices")).content.decode()
    assert TITLE not in choices and "Promotional sharing with affiliated companies" in choices  # the others still are
    assert client.post(change, {"action": "grant"}).status_code == 404  # as for a purpose that does not exist
    assert not ConsentEvent.objects.filter(purpose=new_purpose).exists()

    client.force_login(owner.user)
    assert TITLE in client.get(reverse("consent:choices")).content.decode()
    client.post(change, {"action": "grant"})
    assert ConsentState.objects.get(client=owner, purpose=new_purpose).granted
    client.post(change, {"action": "withdraw"})
    assert not ConsentState.objects.get(client=owner, purpose=new_purpose).granted


def test_clients_who_sign_up_after_the_announcement_get_no_default_for_the_transfers_purpose(new_purpose):
    late = make_client("late@example.com", country="DE", full_name="Late Signup")  # in scope, but not concerned
    assert not ConsentState.objects.filter(client=late, purpose=new_purpose).exists()
    assert ConsentState.objects.filter(client=late).exists()  # the other purposes have their sign-up defaults

    made = []
    synthetic_clients_create(count=3, seed=7, on_batch=lambda batch: made.append(consent_defaults_bulk_record(clients=batch)))
    assert made and not ConsentEvent.objects.filter(purpose=new_purpose).exists()
    assert ledger_verify().intact  # the bulk chains are whole without the purpose left out
