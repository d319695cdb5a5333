import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from amendments.services import policy_first_version_ensure
from consent.models import ConsentEvent
from notify.models import OutboundMessage
from tests.conftest import make_client

pytestmark = pytest.mark.django_db

KANTARA_FIELDS = {"version", "jurisdiction", "consentTimestamp", "collectionMethod", "consentReceiptID", "language",
                  "piiPrincipalId", "piiControllers", "policyUrl", "services", "sensitive"}
PURPOSE_FIELDS = {"purpose", "purposeCategory", "consentType", "piiCategory", "primaryPurpose", "termination",
                  "thirdPartyDisclosure", "thirdPartyName"}


@pytest.fixture
def californian(db):
    return make_client("ca@example.com", country="US", region="US-CA", phone="+14155552671", full_name="Cali Client")


def change_in_portal(browser, client, code, action):
    browser.force_login(client.user)
    browser.post(reverse("consent:change", args=[code]), {"action": action}, REMOTE_ADDR="198.51.100.7")
    return ConsentEvent.objects.filter(client=client).latest("sequence")


def download(browser, event):
    response = browser.get(reverse("consent:receipt", args=[event.receipt_id]))
    assert response.status_code == 200
    return json.loads(response.content)


def test_receipt_of_a_withdrawal_carries_every_kantara_field_with_its_value(client, californian):
    version = policy_first_version_ensure(label="2025-01", body_en="The policy.", body_zh_hans="", summary="First",
                                          effective_at=timezone.now() - timedelta(days=1))
    event = change_in_portal(client, californian, "promotional-sharing", "withdraw")
    receipt = download(client, event)

    assert KANTARA_FIELDS <= receipt.keys()
    assert receipt["version"] == "KI-CR-v1.1.0"
    assert receipt["jurisdiction"] == "California (CCPA/CPRA)"
    assert receipt["consentTimestamp"] == int(event.occurred_at.timestamp())
    assert isinstance(receipt["consentTimestamp"], int)
    assert receipt["collectionMethod"] == "Portal"
    assert receipt["consentReceiptID"] == str(event.receipt_id)
    assert receipt["language"] == "en"
    assert receipt["piiPrincipalId"] == str(californian.public_id)
    assert receipt["policyUrl"] == f"{settings.SITE_URL}/policy/versions/{version.label}/"
    assert receipt["sensitive"] is False

    [controller] = receipt["piiControllers"]
    assert controller["piiController"] == settings.PII_CONTROLLER["name"]
    for field in ["contact", "address", "email", "phone"]:
        assert controller[field] == settings.PII_CONTROLLER[field]

    [service] = receipt["services"]
    [purpose] = service["purposes"]
    assert PURPOSE_FIELDS <= purpose.keys()
    assert purpose["purpose"] == "Promotional sharing with affiliated companies"
    assert purpose["purposeCategory"] == ["Marketing - Third Party"]
    assert purpose["consentType"] == "EXPLICIT"
    assert purpose["piiCategory"] == ["ip_address", "email"]
    assert purpose["primaryPurpose"] is False
    assert "portal" in purpose["termination"]
    assert purpose["thirdPartyDisclosure"] is True
    assert purpose["thirdPartyName"] == "Affiliated companies"

    # ISO/IEC TS 27560 record fields: what happened, and how it is kept
    assert receipt["eventType"] == "consent withdrawn" and receipt["eventState"] == "withdrawn"
    assert receipt["lawfulBasis"] == "Consent" and receipt["policyVersion"] == "2025-01"
    assert receipt["recordId"] == f"{californian.public_id}#{event.sequence}"
    assert receipt["entryHash"] == event.entry_hash


def test_receipt_of_a_grant_for_a_purpose_kept_in_house_names_no_third_party(client):
    eu_client = make_client("eu@example.com", country="DE")
    event = change_in_portal(client, eu_client, "marketing-messages", "grant")
    purpose = download(client, event)["services"][0]["purposes"][0]
    assert purpose["purposeCategory"] == ["Marketing - Direct"]
    assert purpose["thirdPartyDisclosure"] is False and purpose["thirdPartyName"] == ""
    assert download(client, event)["jurisdiction"] == "EU / EEA (GDPR)"


def test_a_default_recorded_at_sign_up_is_an_implicit_consent(client, californian):
    client.force_login(californian.user)
    event = ConsentEvent.objects.get(client=californian, sequence=1)
    receipt = download(client, event)
    assert receipt["collectionMethod"] == "Sign-up"
    assert receipt["services"][0]["purposes"][0]["consentType"] == "IMPLICIT"


def test_the_emailed_receipt_is_the_one_the_client_can_download(client, californian):
    event = change_in_portal(client, californian, "promotional-sharing", "withdraw")
    message = OutboundMessage.objects.get(kind="consent-receipt", client=californian)
    assert message.attachment_type == "application/json"
    assert json.loads(message.attachment_body) == download(client, event)
