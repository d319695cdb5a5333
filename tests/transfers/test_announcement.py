"""Recording and announcing a business transfer: four eyes, the clients concerned, one notice per client and channel
in the client's language (seed policy "Business transfer"; PIPL Art. 22; GDPR Art. 13/14)."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from notify.models import OutboundMessage
from tests.conftest import make_client
from transfers.models import BusinessTransfer, TransferAuditEntry, TransferSubject
from transfers.notices import NOTICE_KIND, transfer_notices_queue
from transfers.services import transfer_publish, transfer_update

from .conftest import ACQUIRER, draft, erase

pytestmark = pytest.mark.django_db


def notices(client):
    return {m.channel: m for m in OutboundMessage.objects.filter(client=client, kind=NOTICE_KIND)}


def test_recorder_cannot_publish_their_own_transfer(privacy_officer, legal, owner):
    transfer = draft(privacy_officer)
    with pytest.raises(PermissionDenied):
        transfer_publish(transfer=transfer, approver=privacy_officer)
    transfer.refresh_from_db()
    assert transfer.status == BusinessTransfer.Status.DRAFT
    assert not TransferSubject.objects.exists() and not OutboundMessage.objects.filter(kind=NOTICE_KIND).exists()
    assert transfer_publish(transfer=transfer, approver=legal).status == BusinessTransfer.Status.PUBLISHED


def test_support_agents_can_neither_record_nor_announce_a_transfer(support_agent, privacy_officer, owner):
    with pytest.raises(PermissionDenied):
        draft(support_agent)
    with pytest.raises(PermissionDenied):
        transfer_publish(transfer=draft(privacy_officer), approver=support_agent)


def test_published_business_transfer_tells_each_affected_client_the_acquirer_by_email_and_sms_once(
        privacy_officer, legal, owner, zh_client):
    gone = make_client("gone@example.com", full_name="Gone Client")
    erase(gone)
    transfer = transfer_publish(transfer=draft(privacy_officer), approver=legal)

    owner_notices = notices(owner)
    assert set(owner_notices) == {"email", "sms"}
    email, sms = owner_notices["email"], owner_notices["sms"]
    assert email.to == owner.email and sms.to == owner.phone
    for text in (ACQUIRER, "Mei Chan", "privacy@harbour.example", "1 Harbour Road, Hong Kong", "Hong Kong",
                 "Name, Email address, Shipping address", "You may object until", str(transfer.public_id)):
        assert text in email.body
    assert ACQUIRER in email.subject
    assert ACQUIRER in sms.body and "Hong Kong" in sms.body and str(transfer.public_id) in sms.body
    # In Chinese for a client who reads Chinese; no SMS without a mobile number; nothing to an erased client.
    zh = notices(zh_client)
    assert set(zh) == {"email"}
    assert "您可以在" in zh["email"].body and ACQUIRER in zh["email"].body and "香港" in zh["email"].body
    assert not notices(gone) and not TransferSubject.objects.filter(client=gone).exists()

    count = OutboundMessage.objects.count()
    with pytest.raises(ValidationError):
        transfer_publish(transfer=transfer, approver=legal)
    assert transfer_notices_queue(transfer=transfer) == 0
    assert OutboundMessage.objects.count() == count


def test_a_filter_concerns_only_the_clients_of_the_countries_or_laws_listed(privacy_officer, legal, owner, outsider,
                                                                           zh_client):
    transfer = transfer_publish(transfer=draft(privacy_officer, scope_countries=["de"], scope_jurisdictions=["cn"]),
                                approver=legal)
    assert set(transfer.subjects.values_list("client_id", flat=True)) == {owner.pk, zh_client.pk}
    assert not notices(outsider)


def test_every_change_of_a_transfer_leaves_an_audit_row_and_an_announced_one_cannot_be_edited(privacy_officer, legal,
                                                                                            owner):
    transfer = draft(privacy_officer)
    transfer = transfer_update(transfer=transfer, actor=privacy_officer, changes={"acquirer_contact_name": "Li Na"})
    transfer = transfer_publish(transfer=transfer, approver=legal)
    trail = list(TransferAuditEntry.objects.filter(transfer=transfer).values_list("actor", "from_status", "to_status"))
    assert trail == [(privacy_officer.pk, "", "draft"), (privacy_officer.pk, "draft", "draft"),
                     (legal.pk, "draft", "published")]
    with pytest.raises(ValidationError):
        transfer_update(transfer=transfer, actor=privacy_officer, changes={"acquirer_name": "Someone else"})


@pytest.mark.parametrize("changes, field", [
    ({"data_categories": []}, "data_categories"),
    ({"data_categories": ["password"]}, "data_categories"),
    ({"acquirer_country": "XX"}, "acquirer_country"),
    ({"scope_countries": ["Atlantis"]}, "scope_countries"),
    ({"changes_purpose": True}, "new_purpose_en"),
])
def test_a_transfer_with_bad_input_is_refused_on_the_field_and_nothing_is_recorded(privacy_officer, changes, field):
    with pytest.raises(ValidationError) as refused:
        draft(privacy_officer, **changes)
    assert field in refused.value.error_dict
    assert not BusinessTransfer.objects.exists()


def test_the_handover_must_come_after_the_objection_deadline(privacy_officer):
    transfer = draft(privacy_officer)
    with pytest.raises(ValidationError) as refused:
        draft(privacy_officer, handover_on=transfer.objection_deadline)
    assert "handover_on" in refused.value.error_dict


def test_the_notices_leave_after_commit_each_once_even_when_the_dispatch_runs_twice(
        privacy_officer, legal, owner, zh_client, django_capture_on_commit_callbacks, mailoutbox):
    from transfers.notices import transfer_notices_dispatch

    with django_capture_on_commit_callbacks(execute=True):
        transfer = transfer_publish(transfer=draft(privacy_officer), approver=legal)
    sent = OutboundMessage.objects.filter(kind=NOTICE_KIND, status=OutboundMessage.Status.SENT)
    assert sorted(sent.values_list("to", flat=True)) == sorted([owner.email, owner.phone, zh_client.email])
    assert sorted(m.to[0] for m in mailoutbox) == sorted([owner.email, zh_client.email])
    assert transfer_notices_dispatch(transfer_id=transfer.pk) == 0
    assert len(mailoutbox) == 2
