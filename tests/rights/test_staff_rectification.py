"""Issue #18.10: a correction staff make on the client's admin page (full name, phone, addresses) is recorded and told
exactly as a portal correction is — a completed rectification request, a Rectification with salted digests, a
`rectified` notice to every affiliate that received the field (GDPR Art. 19) — and the client is e-mailed. The e-mail
address changes only through the verified flow, which also tells the affiliates."""

import re
import uuid

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import Address, Client
from accounts.services import address_add
from consent.models import Purpose
from rights.models import DataSubjectRequest, Rectification
from sharing.models import WithdrawalNotice
from sharing.services import sharing_records_write
from tests.conftest import PASSWORD, make_client
from tests.sharing.conftest import make_affiliate

pytestmark = pytest.mark.django_db
NEW_PHONE = "+4915198765432"


def change_url(c):
    return reverse("admin:accounts_client_change", args=[c.pk])


def received(affiliate, client, purpose, fields):
    sharing_records_write(affiliate=affiliate, purpose=Purpose.objects.get(code=purpose), fields=list(fields),
                          client_ids=[client.pk], api_key=None, request_id=uuid.uuid4(), at=timezone.now())


def change_data(c, addresses=(), **changes):
    data = {"full_name": c.full_name, "phone": c.phone, "country": str(c.country), "region": c.region,
            "preferred_language": c.preferred_language, "correction_channel": "letter", **changes}
    data.update({"addresses-TOTAL_FORMS": len(addresses), "addresses-INITIAL_FORMS": sum(1 for a in addresses if "id" in a),
                 "addresses-MIN_NUM_FORMS": 0, "addresses-MAX_NUM_FORMS": 1000,
                 "ip_observations-TOTAL_FORMS": 0, "ip_observations-INITIAL_FORMS": 0,
                 "ip_observations-MIN_NUM_FORMS": 0, "ip_observations-MAX_NUM_FORMS": 1000})
    for i, address in enumerate(addresses):
        data.update({f"addresses-{i}-{name}": value for name, value in address.items()})
    return data


def address_form(address: Address | None = None, **changes):
    values = {"kind": "residential", "country": "DE", "line1": "Alte Gasse 1", "line2": "", "city": "Berlin",
              "region": "", "postcode": "10115"}
    if address is not None:
        values = {name: str(getattr(address, name)) for name in values} | {"id": address.pk, "client": address.client_id}
    return {**values, **changes}


def save(client, owner, capture, **data):
    with capture(execute=True):
        response = client.post(change_url(owner), change_data(owner, **data))
    assert response.status_code == 302, response.content.decode()[:3000]
    return response


def mails_to(address):
    return [m for m in mail.outbox if m.to == [address]]


@pytest.fixture
def partners(owner):
    """A drop-shipping partner that received name, phone and address; an ad network that received only e-mail."""
    dropship = make_affiliate("Dropship Partner", kind="dropship-partner", purpose="order-fulfilment",
                              fields=("name", "phone", "shipping_address"), country="CN")
    ads = make_affiliate("Ads Network")
    received(dropship, owner, "order-fulfilment", ["name", "phone", "shipping_address"])
    received(ads, owner, "promotional-sharing", ["email"])
    return dropship, ads


def test_staff_correction_in_the_admin_notifies_every_affiliate_that_received_the_field(
        client, support_agent, owner, partners, django_capture_on_commit_callbacks):
    dropship, ads = partners
    client.force_login(support_agent)

    save(client, owner, django_capture_on_commit_callbacks, phone=NEW_PHONE)

    owner.refresh_from_db()
    assert owner.phone == NEW_PHONE
    [row] = Rectification.objects.filter(client=owner)
    assert (row.field, row.by) == ("phone", support_agent)
    assert NEW_PHONE not in row.new_digest and "4915123456789" not in row.old_digest
    [notice] = WithdrawalNotice.objects.filter(client=owner)
    assert (notice.affiliate, notice.reason, notice.fields) == (dropship, WithdrawalNotice.Reason.RECTIFIED, ["phone"])
    request = DataSubjectRequest.objects.get(client=owner, kind="rectification")
    assert (request.channel, request.status, row.request) == ("letter", "completed", request)
    [told] = mails_to(owner.email)
    assert "phone number" in told.body and "(Letter)" in told.body and "told to update their copy" in told.body


def test_staff_address_corrections_reach_affiliates_that_received_addresses(
        client, support_agent, privacy_officer, owner, partners, django_capture_on_commit_callbacks):
    dropship, _ads = partners
    home = address_add(client=owner, kind="residential", country="DE", line1="Alte Gasse 1", city="Berlin",
                       postcode="10115")
    Client.objects.filter(pk=owner.pk).update(updated_at=timezone.now() - timezone.timedelta(days=1))
    before = Client.objects.get(pk=owner.pk).updated_at
    client.force_login(support_agent)

    save(client, owner, django_capture_on_commit_callbacks,
         addresses=[address_form(home, line1="Neue Straße 2"), address_form(line1="Büro 5", kind="office")])

    assert sorted(Address.objects.filter(client=owner).values_list("line1", flat=True)) == ["Büro 5", "Neue Straße 2"]
    rows = list(Rectification.objects.filter(client=owner).values_list("field", "old_digest", "new_digest"))
    assert [field for field, _o, _n in rows] == ["address", "address"]
    assert not any(clear in str(rows) for clear in ("Alte Gasse", "Neue Straße", "Büro"))
    notices = WithdrawalNotice.objects.filter(client=owner, affiliate=dropship)
    assert notices.count() == 1 and notices.get().fields == ["shipping_address"]
    assert Client.objects.get(pk=owner.pk).updated_at > before  # `updated_since` feeds find the client again

    client.force_login(privacy_officer)  # privacy officers may delete addresses, support agents may not
    save(client, owner, django_capture_on_commit_callbacks,
         addresses=[{**address_form(Address.objects.get(line1="Büro 5")), "DELETE": "on"},
                    address_form(Address.objects.get(line1="Neue Straße 2"))])
    assert list(Address.objects.filter(client=owner).values_list("line1", flat=True)) == ["Neue Straße 2"]
    assert Rectification.objects.filter(client=owner).count() == 3


def test_saving_the_client_page_unchanged_or_changing_only_the_language_records_no_correction(
        client, support_agent, owner, partners, django_capture_on_commit_callbacks):
    client.force_login(support_agent)
    save(client, owner, django_capture_on_commit_callbacks)
    save(client, owner, django_capture_on_commit_callbacks, preferred_language="zh-hans")
    assert not Rectification.objects.exists() and not WithdrawalNotice.objects.exists()
    assert not DataSubjectRequest.objects.filter(kind="rectification").exists() and mails_to(owner.email) == []


def test_the_client_is_told_in_their_language(client, support_agent, django_capture_on_commit_callbacks):
    zh = make_client("zh@example.com", country="CN", phone="+8613800138000", full_name="王芳", preferred_language="zh-hans")
    client.force_login(support_agent)
    save(client, zh, django_capture_on_commit_callbacks, full_name="王小芳")
    [told] = mails_to("zh@example.com")
    assert "王小芳" in told.body and "更正" in told.body and "信函" in told.body


def test_an_invalid_correction_is_refused_on_the_form_and_nothing_is_recorded(
        client, support_agent, owner, partners):
    client.force_login(support_agent)
    bad_phone = client.post(change_url(owner), change_data(owner, phone="12"))
    bad_channel = client.post(change_url(owner), change_data(owner, phone=NEW_PHONE, correction_channel="pigeon"))
    assert bad_phone.status_code == bad_channel.status_code == 200
    owner.refresh_from_db()
    assert owner.phone != NEW_PHONE and not Rectification.objects.exists() and not WithdrawalNotice.objects.exists()


def test_clients_and_anonymous_visitors_cannot_correct_a_client_in_the_admin(client, owner, outsider, partners):
    for who in (None, owner.user, outsider.user):
        client.logout()
        if who is not None:
            client.force_login(who)
        response = client.post(change_url(owner), change_data(owner, phone=NEW_PHONE))
        assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))
    owner.refresh_from_db()
    assert owner.phone != NEW_PHONE and not Rectification.objects.exists() and not WithdrawalNotice.objects.exists()


def test_a_portal_email_change_by_the_verified_flow_tells_every_affiliate_that_received_the_address(
        client, owner, partners, django_capture_on_commit_callbacks):
    _dropship, ads = partners
    client.force_login(owner.user)
    with django_capture_on_commit_callbacks(execute=True):
        asked = client.post(reverse("rights:email_change"), {"new_email": "owner.new@example.org", "password": PASSWORD})
    assert asked.status_code == 302
    [link_mail] = mails_to("owner.new@example.org")
    link = re.search(r"https?://\S+/accounts/email/confirm/[\w-]+/", link_mail.body).group(0)
    with django_capture_on_commit_callbacks(execute=True):
        confirmed = client.post("/" + link.split("/", 3)[3], {"password": PASSWORD})

    assert confirmed.status_code == 200
    owner.refresh_from_db()
    assert owner.email == "owner.new@example.org"
    assert Rectification.objects.get(client=owner).field == "email"
    [notice] = WithdrawalNotice.objects.filter(client=owner)
    assert (notice.affiliate, notice.reason, notice.fields) == (ads, WithdrawalNotice.Reason.RECTIFIED, ["email"])
