"""Handing a business transfer over: exactly the clients allowed, exactly the announced data, a sharing record per
client in the same transaction, and the acquirer then on "Who received your data" and in the export."""

import csv
import io
import json
from datetime import datetime, time

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import Address, StaffAccess
from accounts.services import address_add
from consent.models import ConsentEvent, ConsentState
from rights.export import export_document
from sharing.models import SharingRecord
from tests.conftest import make_client
from transfers import handover as handover_module
from transfers.models import BusinessTransfer, TransferHandover, TransferObjection
from transfers.services import transfer_objection_record, transfer_publish

from .conftest import ACQUIRER, after_deadline, draft, erase

pytestmark = pytest.mark.django_db


@pytest.fixture
def announced(privacy_officer, legal, owner, outsider, media):
    address_add(client=owner, kind=Address.Kind.RESIDENTIAL, line1="Hauptstr. 1", city="Berlin", postcode="10115",
                country="DE")
    return transfer_publish(transfer=draft(privacy_officer), approver=legal)


def hand_over(transfer, actor):
    with time_machine.travel(after_deadline(transfer), tick=False):
        return handover_module.transfer_hand_over(transfer=transfer, actor=actor)


def handover_rows(handover):
    with handover.csv_file.open("rb") as f:
        rows = list(csv.DictReader(io.StringIO(f.read().decode("utf-8-sig"))))
    with handover.json_file.open("rb") as f:
        document = json.loads(f.read())
    return rows, document


def test_client_who_objected_is_not_in_the_handover_file(announced, owner, outsider, legal):
    transfer_objection_record(transfer=announced, client=outsider, channel=TransferObjection.Channel.PORTAL)
    handover = hand_over(announced, legal)
    rows, document = handover_rows(handover)
    assert [r["client_reference"] for r in rows] == [str(owner.public_id)]
    assert [c["client_reference"] for c in document["clients"]] == [str(owner.public_id)]
    assert handover.client_count == 1
    # Exactly the announced categories: name, e-mail, shipping address; no phone, no IP address.
    assert list(rows[0]) == ["client_reference", "email", "name", "shipping_address"]
    assert rows[0]["name"] == owner.full_name and "Hauptstr. 1" in rows[0]["shipping_address"]
    assert set(document["clients"][0]) == {"client_reference", "email", "name", "shipping_address"}
    assert not SharingRecord.objects.filter(client=outsider).exists()


def test_handover_writes_a_sharing_record_per_client_in_the_same_transaction(announced, owner, outsider, legal,
                                                                               monkeypatch, media):
    def broken(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(handover_module, "sharing_records_write_to_recipient", broken)
    with pytest.raises(RuntimeError):
        hand_over(announced, legal)
    assert not TransferHandover.objects.exists()
    assert not any(media.rglob("handover-*"))  # the files generated went with the transaction
    announced.refresh_from_db()
    assert announced.status == BusinessTransfer.Status.PUBLISHED
    monkeypatch.undo()

    handover = hand_over(announced, legal)
    records = SharingRecord.objects.filter(request_id=handover.request_id)
    assert sorted(records.values_list("client_id", flat=True)) == sorted([owner.pk, outsider.pk])
    for record in records:
        assert (record.recipient_name, record.recipient_country, record.purpose.code) == (
            ACQUIRER, "HK", "business-transfer")
        assert record.fields == ["email", "name", "shipping_address"]
        assert record.shared_at == handover.generated_at
    announced.refresh_from_db()
    assert announced.status == BusinessTransfer.Status.HANDED_OVER
    assert set(announced.subjects.filter(handed_over_at__isnull=False).values_list("client_id", flat=True)) == {
        owner.pk, outsider.pk}
    with pytest.raises(ValidationError):  # once only
        hand_over(announced, legal)


def test_handover_before_the_objection_deadline_is_refused(announced, legal):
    with pytest.raises(ValidationError):
        handover_module.transfer_hand_over(transfer=announced, actor=legal)
    with time_machine.travel(timezone.make_aware(datetime.combine(announced.objection_deadline, time(23))), tick=False):
        with pytest.raises(ValidationError):
            handover_module.transfer_hand_over(transfer=announced, actor=legal)
    assert not SharingRecord.objects.exists()


def test_an_objection_after_the_deadline_is_refused_but_a_letter_received_in_time_counts(announced, owner, outsider,
                                                                                        legal):
    with time_machine.travel(after_deadline(announced), tick=False):
        with pytest.raises(ValidationError):
            transfer_objection_record(transfer=announced, client=owner, channel=TransferObjection.Channel.PORTAL)
        objection, created = transfer_objection_record(
            transfer=announced, client=outsider, channel=TransferObjection.Channel.LETTER, recorded_by=legal,
            received_on=announced.objection_deadline, reference="Letter 2026-14")
    assert created and objection.recorded_by == legal
    assert list(TransferObjection.objects.values_list("client_id", flat=True)) == [outsider.pk]


def test_erased_client_is_neither_notified_nor_handed_over(announced, owner, outsider, legal):
    erase(outsider)
    handover = hand_over(announced, legal)
    assert handover.client_count == 1
    assert not SharingRecord.objects.filter(client=outsider).exists()


def test_transfer_that_changes_purpose_hands_over_only_clients_who_consented_afresh(privacy_officer, legal, owner,
                                                                                 outsider, client, media):
    transfer = transfer_publish(transfer=draft(
        privacy_officer, changes_purpose=True, new_purpose_en="Marketing of Harbour's insurance products.",
        new_purpose_zh_hans="推广 Harbour 的保险产品。"), approver=legal)
    purpose = transfer.new_purpose
    assert purpose.legal_basis == "consent" and purpose.recipient_class == "acquirer"
    # Withdrawn for everyone, and nothing written in anybody's ledger until they give it.
    assert not ConsentEvent.objects.filter(purpose=purpose).exists()
    assert not ConsentState.objects.filter(purpose=purpose).exists()
    new_client = make_client("late@example.com", full_name="Late Signup")
    assert not ConsentState.objects.filter(client=new_client, purpose=purpose).exists()  # not offered to them at all

    client.force_login(owner.user)
    page = client.get(reverse("transfers:detail", args=[transfer.public_id]))
    assert "Marketing of Harbour" in page.content.decode()
    client.post(reverse("transfers:consent", args=[transfer.public_id]))
    event = ConsentEvent.objects.get(client=owner, purpose=purpose)
    assert (event.action, event.channel) == ("grant", "portal")

    handover = hand_over(transfer, legal)
    assert list(SharingRecord.objects.filter(request_id=handover.request_id).values_list("client_id", flat=True)) == [
        owner.pk]


def test_handed_over_transfer_shows_on_who_received_your_data_and_in_the_export(announced, owner, legal, client):
    client.force_login(owner.user)
    before = client.get(reverse("sharing:received")).content.decode()
    assert "Announced: a business transfer of your data" in before and ACQUIRER in before

    hand_over(announced, legal)
    page = client.get(reverse("sharing:received")).content.decode()
    assert ACQUIRER in page and "Hong Kong" in page and "Announced: a business transfer" not in page
    document = export_document(client=owner, generated_at=timezone.now())
    shared = document["categories"]["sharing_records"]["rows"]
    assert [(r["recipient"], r["recipient_country"]) for r in shared] == [(ACQUIRER, "Hong Kong")]
    transfers = document["categories"]["business_transfers"]["rows"]
    assert len(transfers) == 1 and transfers[0]["acquirer"] == ACQUIRER and transfers[0]["handed_over_at"]
    assert client.get(reverse("rights:data_category", args=["business_transfers"])).status_code == 200


def test_handover_file_download_is_for_permitted_staff_only_and_access_logged(announced, owner, outsider, legal,
                                                                             privacy_officer, support_agent, client):
    hand_over(announced, legal)
    url = reverse("admin:transfers_businesstransfer_handover_download", args=[announced.pk, "json"])
    client.force_login(support_agent)
    assert client.get(url).status_code == 403
    client.force_login(owner.user)
    assert client.get(url).status_code == 302  # to the admin log-in
    assert not StaffAccess.objects.filter(action=StaffAccess.Action.EXPORT).exists()

    client.force_login(privacy_officer)
    response = client.get(url)
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    assert json.loads(b"".join(response.streaming_content))["client_count"] == 2
    logged = StaffAccess.objects.filter(action=StaffAccess.Action.EXPORT, staff=privacy_officer)
    assert sorted(logged.values_list("client_id", flat=True)) == sorted([owner.pk, outsider.pk])
    assert announced.audit.filter(actor=privacy_officer, note__contains="downloaded").exists()
    assert client.get(reverse("admin:transfers_businesstransfer_handover_download",
                              args=[announced.pk, "exe"])).status_code == 404
