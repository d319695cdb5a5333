"""What each recipient is told (issue #19): the event types, payloads scoped to the agreement, corrected values
recorded as shared, nothing for a withheld disclosure, nothing to an outsider."""

import uuid
from datetime import date, timedelta

import pytest
from django.utils import timezone

from accounts.services import staff_user_ensure
from amendments.services import policy_draft_save, policy_publish
from consent.models import Channel, ConsentAction
from consent.services import consent_record
from disclosures.services import disclosure_approve, disclosure_mark_disclosed, disclosure_record, disclosure_submit_for_review
from rights.erasure.services import erasure_perform, erasure_request
from sharing.models import SharingAgreement, SharingRecord, WithdrawalNotice
from sharing.services import agreement_end, rectified_notices_create
from tests.conftest import PASSWORD, make_client
from tests.sharing.conftest import recipient_purpose
from webhooks.models import WebhookDelivery, WebhookEvent
from webhooks.services import endpoint_change, endpoint_create

from .helpers import client_held_by, recipient_with_endpoint, verified, withdraw

pytestmark = pytest.mark.django_db


def _email_corrected(client, new_email):
    client.email = new_email
    client.save(update_fields=["email"])
    rectified_notices_create(client=client, categories={"email"}, at=timezone.now())


def test_a_correction_carries_the_new_value_of_an_agreed_field_and_records_it_as_shared(receiver, told):
    affiliate, _endpoint, secret = recipient_with_endpoint(receiver.url)
    client = client_held_by(affiliate, fields=("email",))
    told(_email_corrected, client, "corrected@example.com")
    [request] = receiver.of_type("client.rectified")
    data = verified(request, secret)["data"]
    assert data["fields"] == ["email"] and data["values"] == {"email": "corrected@example.com"}
    event = WebhookEvent.objects.get(type="client.rectified")
    record = SharingRecord.objects.get(affiliate=affiliate, request_id=event.public_id)
    assert record.fields == ["email"] and record.client_id == client.pk


def test_a_correction_after_the_client_withdrew_names_the_fields_but_sends_no_value(receiver, told):
    affiliate, _endpoint, secret = recipient_with_endpoint(receiver.url)
    client = client_held_by(affiliate, fields=("email",))
    told(withdraw, client, affiliate)
    records = SharingRecord.objects.filter(affiliate=affiliate).count()
    told(_email_corrected, client, "corrected@example.com")
    [request] = receiver.of_type("client.rectified")
    data = verified(request, secret)["data"]
    assert data["fields"] == ["email"] and "values" not in data
    assert "corrected@example.com" not in request.body.decode()
    assert SharingRecord.objects.filter(affiliate=affiliate).count() == records


def test_an_erasure_is_told_and_wipes_the_corrected_values_kept_in_earlier_events(receiver, told, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    affiliate, _endpoint, secret = recipient_with_endpoint(receiver.url)
    client = client_held_by(affiliate, fields=("email",))
    told(_email_corrected, client, "corrected@example.com")
    request = erasure_request(client=client, actor=client.user)
    told(erasure_perform, request=request, now=request.scheduled_for + timedelta(minutes=1))
    [erased] = receiver.of_type("client.erased")
    assert verified(erased, secret)["data"]["client_id"] == str(client.public_id)
    assert not WebhookEvent.objects.filter(payload__data__has_key="values").exists()
    assert "corrected@example.com" not in str(list(WebhookEvent.objects.values_list("payload", flat=True)))
    assert WithdrawalNotice.objects.get(client=client, reason="erasure").acknowledged_at is not None


def test_consent_granted_only_where_the_agreement_tells_grants(receiver, told):
    affiliate, endpoint, secret = recipient_with_endpoint(receiver.url)
    client = make_client("granting@example.com")
    told(consent_record, client=client, purpose=recipient_purpose(affiliate), action=ConsentAction.GRANT,
         channel=Channel.PORTAL)
    assert receiver.received == [] and not WebhookEvent.objects.filter(type="consent.granted").exists()

    SharingAgreement.objects.filter(affiliate=affiliate).update(tells_grants=True)
    endpoint_change(endpoint=endpoint, events=[*endpoint.events, "consent.granted"])
    other = make_client("second@example.com")
    told(consent_record, client=other, purpose=recipient_purpose(affiliate), action=ConsentAction.GRANT,
         channel=Channel.PORTAL)
    [request] = receiver.of_type("consent.granted")
    assert verified(request, secret)["data"]["client_id"] == str(other.public_id)


def test_ending_an_agreement_is_told_as_agreement_changed_and_each_client_as_withdrawn(receiver, told):
    affiliate, _endpoint, secret = recipient_with_endpoint(receiver.url)
    client = client_held_by(affiliate)
    agreement = SharingAgreement.objects.get(affiliate=affiliate)
    told(agreement_end, agreement=agreement)
    [changed] = receiver.of_type("agreement.changed")
    data = verified(changed, secret)["data"]
    assert (data["change"], data["purpose"], data["in_force"]) == ("ended", "promotional-sharing", False)
    [withdrawn] = receiver.of_type("consent.withdrawn")
    assert verified(withdrawn, secret)["data"] == {**verified(withdrawn, secret)["data"], "client_id": str(client.public_id),
                                                   "reason": "agreement-ended"}


def test_a_published_amendment_is_told_to_every_subscribed_recipient(receiver, told):
    _affiliate, _endpoint, secret = recipient_with_endpoint(receiver.url)
    version = policy_draft_save(label="9.0", body_en="# Policy 9.0\n\nWe changed things.", summary="Clearer words.",
                                is_material=False)
    told(policy_publish, version=version, effective_at=timezone.now() + timedelta(days=40))
    [request] = receiver.of_type("policy.amended")
    data = verified(request, secret)["data"]
    assert data["version"] == "9.0" and data["url"].endswith("/policy/versions/9.0/")


def test_an_endpoint_not_subscribed_gets_nothing_and_a_disabled_one_gets_what_waited_once_enabled(receiver, told):
    affiliate, endpoint, secret = recipient_with_endpoint(receiver.url, events=["client.erased"])
    told(withdraw, client_held_by(affiliate), affiliate)
    assert receiver.received == [] and not WebhookDelivery.objects.exists()
    endpoint_change(endpoint=endpoint, events=["consent.withdrawn"], enabled=False)
    client = client_held_by(affiliate)
    told(withdraw, client, affiliate)
    assert receiver.received == [] and WebhookDelivery.objects.get().status == "pending"
    told(endpoint_change, endpoint=endpoint, enabled=True)
    [request] = receiver.received
    assert verified(request, secret)["data"]["client_id"] == str(client.public_id)


def test_another_recipients_endpoint_hears_nothing_of_a_client_it_never_received(receiver, told):
    from tests.webhooks.receiver import Receiver

    affiliate, _endpoint, _secret = recipient_with_endpoint(receiver.url)
    outsider_receiver = Receiver().start()
    try:
        recipient_with_endpoint(outsider_receiver.url, name="Outsider Media")
        client = client_held_by(affiliate)
        told(withdraw, client, affiliate)
        told(_email_corrected, client, "new@example.com")
        assert outsider_receiver.received == []
        assert {r.json["type"] for r in receiver.received} == {"consent.withdrawn", "client.rectified"}
    finally:
        outsider_receiver.stop()


def test_a_withheld_disclosure_produces_no_event_anywhere(receiver, told, settings, tmp_path):
    """A client whose data went to an authority under a non-disclosure order, and to no recipient: erasing or
    correcting them tells no endpoint anything, and no event row exists that a partner manager could read."""
    settings.MEDIA_ROOT = tmp_path
    recipient_with_endpoint(receiver.url)
    legal = staff_user_ensure(email="legal@example.com", password=PASSWORD, groups=["Legal"])
    legal2 = staff_user_ensure(email="legal2@example.com", password=PASSWORD, groups=["Legal"])
    client = make_client("gagged@example.com")
    disclosure = disclosure_record(recorded_by=legal, clients=[client], authority_name="Shenzhen Public Security Bureau",
                                   authority_country="CN", authority_kind="police", request_type="warrant",
                                   reference_number=f"SZ-{uuid.uuid4().hex[:6]}", received_on=date.today(),
                                   categories_requested=["name", "phone"], withhold_until=date.today() + timedelta(days=90),
                                   withhold_reference="Order 7")
    disclosure = disclosure_submit_for_review(disclosure=disclosure, actor=legal)
    disclosure_approve(disclosure=disclosure, reviewer=legal2, reason="Valid warrant")
    told(disclosure_mark_disclosed, disclosure=disclosure, actor=legal2, disclosed={client.pk: ["name", "phone"]})
    told(_email_corrected, client, "still-gagged@example.com")
    assert receiver.received == [] and not WebhookEvent.objects.exists()


def test_a_processor_cannot_have_an_endpoint():
    from django.core.exceptions import ValidationError

    from sharing.models import Affiliate

    processor = Affiliate.objects.filter(kind=Affiliate.Kind.PROCESSOR).first()
    with pytest.raises(ValidationError):
        endpoint_create(affiliate=processor, url="https://example.com/hooks", events=["client.erased"])


def test_corrected_values_waiting_for_a_failing_endpoint_are_not_sent_once_the_client_withdrew(receiver, told):
    """The values were allowed when the correction was made; by the time the endpoint answers again the client has
    withdrawn: the correction still goes (the recipient must fix or delete its copy), its new values do not."""
    affiliate, _endpoint, secret = recipient_with_endpoint(receiver.url)
    client = client_held_by(affiliate, fields=("email",))
    receiver.status = 503
    told(_email_corrected, client, "corrected@example.com")
    told(withdraw, client, affiliate)
    receiver.status = 200
    WebhookDelivery.objects.update(next_attempt_at=timezone.now())
    from webhooks.delivery import deliveries_sweep

    deliveries_sweep()
    delivered = [r for r in receiver.received if r.json["type"] == "client.rectified"][-1]
    data = verified(delivered, secret)["data"]
    assert data["fields"] == ["email"] and "values" not in data
    assert "corrected@example.com" not in delivered.body.decode()
    assert "values" not in WebhookEvent.objects.get(type="client.rectified").payload["data"]  # the log says so too
