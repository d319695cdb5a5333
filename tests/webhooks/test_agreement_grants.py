"""Whether a recipient may learn of new consents is part of its agreement (issue #19): set by staff when the agreement
is made, off by default, and only then may it subscribe to `consent.granted`."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from sharing.models import SharingAgreement
from sharing.services import agreement_end
from tests.sharing.conftest import make_affiliate
from webhooks.services import endpoint_create, events_allowed

pytestmark = pytest.mark.django_db


def _change_form(affiliate, agreement, **new):
    data = {"name": affiliate.name, "kind": affiliate.kind, "country": affiliate.country,
            "contact_name": affiliate.contact_name, "contact_email": affiliate.contact_email, "address": affiliate.address,
            "rights_contact": affiliate.rights_contact, "transfer_mechanism": affiliate.transfer_mechanism,
            "transfer_mechanism_reference": affiliate.transfer_mechanism_reference, "active": "on",
            "agreements-TOTAL_FORMS": "2", "agreements-INITIAL_FORMS": "1", "agreements-MIN_NUM_FORMS": "0",
            "agreements-MAX_NUM_FORMS": "1000", "agreements-0-id": agreement.pk, "agreements-0-affiliate": affiliate.pk,
            "api_keys-TOTAL_FORMS": "0", "api_keys-INITIAL_FORMS": "0", "api_keys-MIN_NUM_FORMS": "0",
            "api_keys-MAX_NUM_FORMS": "0"}
    data.update({f"agreements-1-{k}": v for k, v in new.items()})
    return data


def test_a_privacy_officer_makes_an_agreement_that_tells_grants_and_only_then_may_the_recipient_subscribe(
        client, privacy_officer):
    affiliate = make_affiliate("Ads Network")
    first = SharingAgreement.objects.get(affiliate=affiliate)
    assert first.tells_grants is False and "consent.granted" not in events_allowed(affiliate=affiliate)
    with pytest.raises(ValidationError) as refused:
        endpoint_create(affiliate=affiliate, url="https://hooks.example.com/", events=["consent.granted"])
    assert "does not let you receive: consent.granted" in str(refused.value.message_dict["events"])

    client.force_login(privacy_officer)
    now = timezone.localtime()
    response = client.post(reverse("admin:sharing_affiliate_change", args=[affiliate.pk]), _change_form(
        affiliate, first, purpose=first.purpose_id, shared_fields=["email"], valid_from_0=now.date().isoformat(),
        valid_from_1=now.strftime("%H:%M:%S"), tells_grants="on"))
    assert response.status_code == 302, response.content.decode()[:2000]
    agreement_end(agreement=first)
    newest = SharingAgreement.objects.filter(affiliate=affiliate).latest("valid_from")
    assert newest.tells_grants and "consent.granted" in events_allowed(affiliate=affiliate)
