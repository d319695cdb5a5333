"""Worlds for webhook tests: a recipient holding a client's data, with an endpoint at a local receiver."""

import uuid
from datetime import timedelta

from django.utils import timezone
from standardwebhooks import Webhook

from consent.models import Channel, ConsentAction
from consent.services import consent_record
from sharing.services import sharing_records_write
from tests.conftest import make_client
from tests.sharing.conftest import make_affiliate, recipient_purpose
from webhooks.services import endpoint_create

ALL_EVENTS = ["consent.withdrawn", "client.rectified", "client.erased", "agreement.changed", "policy.amended"]


def recipient_with_endpoint(url, *, name="Ads Network", events=ALL_EVENTS, fields=("ip_address", "email")):
    affiliate = make_affiliate(name, fields=fields)
    endpoint, secret = endpoint_create(affiliate=affiliate, url=url, events=list(events))
    return affiliate, endpoint, secret


def client_held_by(affiliate, *, email=None, fields=("email",), purpose_code="promotional-sharing"):
    """A client who consented to `affiliate` and whose data it received (a sharing record, as the API writes)."""
    client = make_client(email or f"held-{uuid.uuid4().hex[:8]}@example.com")
    purpose = recipient_purpose(affiliate, purpose_code)
    consent_record(client=client, purpose=purpose, action=ConsentAction.GRANT, channel=Channel.PORTAL)
    sharing_records_write(affiliate=affiliate, purpose=purpose.parent, fields=list(fields), client_ids=[client.pk],
                          api_key=None, request_id=uuid.uuid4(), at=timezone.now() - timedelta(minutes=1))
    return client


def withdraw(client, affiliate, purpose_code="promotional-sharing"):
    return consent_record(client=client, purpose=recipient_purpose(affiliate, purpose_code), action=ConsentAction.WITHDRAW,
                          channel=Channel.PORTAL)[0]


def verified(received, secret) -> dict:
    """What the official Standard Webhooks library makes of a request (raises if the signature does not verify)."""
    return Webhook(secret).verify(received.body, {
        "webhook-id": received.headers["webhook-id"], "webhook-timestamp": received.headers["webhook-timestamp"],
        "webhook-signature": received.headers["webhook-signature"]})
