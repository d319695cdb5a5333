"""The client's side: the announced transfer in the portal, the object button, and nobody else's transfer."""

import pytest
from django.core import mail  # noqa: F401
from django.urls import reverse

from accounts.models import StaffAccess
from notify.models import OutboundMessage
from transfers.models import TransferObjection
from transfers.notices import OBJECTION_KIND
from transfers.services import transfer_publish

from .conftest import ACQUIRER, draft

pytestmark = pytest.mark.django_db


@pytest.fixture
def announced(privacy_officer, legal, owner):
    return transfer_publish(transfer=draft(privacy_officer, scope_countries=["DE"]), approver=legal)


def test_client_sees_the_announced_transfer_and_objects_from_the_portal_once(client, owner, announced):
    client.force_login(owner.user)
    page = client.get(reverse("transfers:detail", args=[announced.public_id])).content.decode()
    for text in (ACQUIRER, "Mei Chan", "privacy@harbour.example", "Hong Kong", "Shipping address",
                 "I object to the transfer of my data"):
        assert text in page
    assert ACQUIRER in client.get(reverse("transfers:list")).content.decode()
    assert ACQUIRER in client.get(reverse("portal:dashboard")).content.decode()

    response = client.post(reverse("transfers:object", args=[announced.public_id]), follow=True)
    assert "Your objection is recorded" in response.content.decode()
    client.post(reverse("transfers:object", args=[announced.public_id]))
    objection = TransferObjection.objects.get(transfer=announced, client=owner)
    assert (objection.channel, objection.recorded_by) == ("portal", None)
    assert OutboundMessage.objects.filter(client=owner, kind=OBJECTION_KIND).count() == 1
    page = client.get(reverse("transfers:detail", args=[announced.public_id])).content.decode()
    assert "Your data will not be handed over" in page and "I object to the transfer" not in page
    assert "You objected" in client.get(reverse("rights:data_category", args=["business_transfers"])).content.decode()


def test_outsider_client_cannot_see_or_object_to_another_clients_transfer(client, outsider, announced):
    client.force_login(outsider.user)  # lives in France: the transfer concerns clients living in Germany
    assert client.get(reverse("transfers:detail", args=[announced.public_id])).status_code == 404
    assert client.post(reverse("transfers:object", args=[announced.public_id])).status_code == 404
    assert client.post(reverse("transfers:consent", args=[announced.public_id])).status_code == 404
    assert ACQUIRER not in client.get(reverse("transfers:list")).content.decode()
    assert ACQUIRER not in client.get(reverse("sharing:received")).content.decode()
    assert not TransferObjection.objects.exists()


def test_a_draft_transfer_is_invisible_to_the_clients_it_would_concern(client, owner, privacy_officer):
    transfer = draft(privacy_officer)
    client.force_login(owner.user)
    assert client.get(reverse("transfers:detail", args=[transfer.public_id])).status_code == 404
    assert ACQUIRER not in client.get(reverse("portal:dashboard")).content.decode()


def test_the_portal_page_is_in_chinese_for_a_chinese_reader(client, zh_client, privacy_officer, legal):
    transfer = transfer_publish(transfer=draft(privacy_officer), approver=legal)
    client.force_login(zh_client.user)
    page = client.get(reverse("transfers:detail", args=[transfer.public_id]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "反对" in page.content.decode()


def test_staff_record_an_objection_received_by_letter_in_the_admin(client, owner, outsider, announced, legal,
                                                                   support_agent):
    url = reverse("admin:transfers_businesstransfer_objection_add", args=[announced.pk])
    form = {"client_reference": owner.email, "channel": "letter", "received_on": "2020-01-01", "reference": "L-14"}
    client.force_login(support_agent)
    assert client.post(url, form).status_code == 403
    client.force_login(legal)
    assert client.get(url).status_code == 200
    refused = client.post(url, {**form, "client_reference": outsider.email})  # not concerned
    assert refused.status_code == 200 and "does not concern this client" in refused.content.decode()
    assert client.post(url, {**form, "received_on": "not a date"}).status_code == 200
    response = client.post(url, {**form, "received_on": str(announced.published_at.date())})
    assert response.status_code == 302
    objection = TransferObjection.objects.get(client=owner)
    assert (objection.channel, objection.recorded_by, objection.reference) == ("letter", legal, "L-14")
    assert StaffAccess.objects.filter(staff=legal, client=owner, action=StaffAccess.Action.CHANGE).exists()


def test_a_transfer_announced_after_who_received_your_data_was_kept_shows_there_at_once(client, owner, privacy_officer,
                                                                                       legal):
    client.force_login(owner.user)
    received = reverse("sharing:received")
    client.get(received)
    assert "Announced: a business transfer" not in client.get(received).content.decode()  # kept
    transfer = transfer_publish(transfer=draft(privacy_officer, scope_countries=["DE"]), approver=legal)
    page = client.get(received).content.decode()
    assert "Announced: a business transfer of your data" in page and ACQUIRER in page
    client.post(reverse("transfers:object", args=[transfer.public_id]))
    assert "You objected: your data will not be handed over." in client.get(received).content.decode()
