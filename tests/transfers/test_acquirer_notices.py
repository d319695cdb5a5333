"""The acquirer is a recipient like any other: every handover names it as a `sharing.Affiliate` (made at
announcement from the acquirer's details when none was chosen), so erasures, withdrawals and corrections reach it
as withdrawal notices (GDPR Art. 17(2), 19)."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from rights.rectification import client_rectify
from sharing.models import Affiliate, SharingRecord, WithdrawalNotice
from sharing.services import affiliate_save
from transfers.services import transfer_publish

from .conftest import ACQUIRER, draft, erase, hand_over

pytestmark = pytest.mark.django_db
Reason = WithdrawalNotice.Reason


def test_erasing_a_handed_over_client_asks_the_acquirer_to_delete(announced, legal, owner, outsider):
    acquirer = announced.affiliate
    assert (acquirer.name, acquirer.kind, acquirer.country, acquirer.contact_email) == (
        ACQUIRER, Affiliate.Kind.BUSINESS_TRANSFER, "HK", "privacy@harbour.example")
    handover = hand_over(announced, legal)
    assert set(SharingRecord.objects.filter(request_id=handover.request_id).values_list("affiliate_id", flat=True)) == {
        acquirer.pk}

    erase(owner)
    notices = WithdrawalNotice.objects.filter(affiliate=acquirer)
    assert list(notices.values_list("client_id", "reason", "purpose__code")) == [
        (owner.pk, Reason.ERASURE, "business-transfer")]
    assert not notices.filter(client=outsider).exists()


def test_a_correction_after_the_handover_reaches_the_acquirer(announced, legal, owner):
    hand_over(announced, legal)
    client_rectify(client=owner, changes={"full_name": "Owner Corrected"}, actor=None)
    notice = WithdrawalNotice.objects.get(affiliate=announced.affiliate, client=owner)
    assert (notice.reason, notice.fields) == (Reason.RECTIFIED, ["name"])


def test_withdrawing_the_fresh_consent_after_the_handover_asks_the_acquirer_to_delete(privacy_officer, legal, owner,
                                                                                      outsider, client, media):
    transfer = transfer_publish(transfer=draft(
        privacy_officer, changes_purpose=True, new_purpose_en="Insurance offers.", new_purpose_zh_hans="保险推广。"),
        approver=legal)
    client.force_login(owner.user)
    client.post(reverse("transfers:consent", args=[transfer.public_id]))
    handover = hand_over(transfer, legal)
    record = SharingRecord.objects.get(request_id=handover.request_id)
    assert (record.client, record.affiliate, record.purpose) == (owner, transfer.affiliate, transfer.new_purpose)

    client.post(reverse("consent:change", args=[transfer.new_purpose.code]), {"action": "withdraw"})
    notice = WithdrawalNotice.objects.get(affiliate=transfer.affiliate)
    assert (notice.client, notice.purpose, notice.reason) == (owner, transfer.new_purpose, Reason.CONSENT_WITHDRAWN)


def test_announcing_uses_the_acquirer_recipient_of_that_name_and_refuses_a_namesake_of_another_kind(
        privacy_officer, legal, owner, media):
    partner = affiliate_save(affiliate=Affiliate(name=ACQUIRER, kind=Affiliate.Kind.DROPSHIP_PARTNER, country="HK",
                                                 contact_name="Ops", contact_email="ops@harbour.example",
                                                 transfer_mechanism="pipl-standard-contract",
                                                 transfer_mechanism_reference="SC-OPS-1"))
    transfer = draft(privacy_officer, affiliate=None)
    with pytest.raises(ValidationError, match="not a business-transfer counterparty"):
        transfer_publish(transfer=transfer, approver=legal)
    transfer.refresh_from_db()
    assert transfer.status == transfer.Status.DRAFT and not transfer.subjects.exists()

    partner.kind = Affiliate.Kind.BUSINESS_TRANSFER
    affiliate_save(affiliate=partner)
    assert transfer_publish(transfer=transfer, approver=legal).affiliate == partner
    assert Affiliate.objects.filter(name=ACQUIRER).count() == 1


def test_an_acquirer_abroad_must_be_recorded_with_its_transfer_mechanism_before_the_announcement(privacy_officer, legal,
                                                                                                owner, media):
    transfer = draft(privacy_officer, affiliate=None)  # in Hong Kong, and no recipient recorded for it
    with pytest.raises(ValidationError, match="record it first as a business-transfer recipient"):
        transfer_publish(transfer=transfer, approver=legal)
    transfer.refresh_from_db()
    assert transfer.status == transfer.Status.DRAFT and not transfer.subjects.exists()
    assert not Affiliate.objects.filter(name=ACQUIRER).exists()


def test_no_handover_to_an_acquirer_without_an_approved_impact_assessment(privacy_officer, legal, owner, media):
    acquirer = affiliate_save(affiliate=Affiliate(
        name="Unassessed Holdings", kind=Affiliate.Kind.BUSINESS_TRANSFER, country="CN", contact_name="Li",
        contact_email="li@unassessed.example"))
    transfer = transfer_publish(transfer=draft(privacy_officer, acquirer_name="Unassessed Holdings", acquirer_country="CN",
                                               affiliate=acquirer), approver=legal)
    with pytest.raises(ValidationError, match="impact assessment"):
        hand_over(transfer, privacy_officer)
    assert not SharingRecord.objects.filter(recipient_name="Unassessed Holdings").exists()
