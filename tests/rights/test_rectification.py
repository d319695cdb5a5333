"""Rectification: a client corrects name, phone and addresses in the portal, validated as at sign-up; only salted
digests of the old and new values are kept, and affiliates that received a corrected field learn of it in their feed."""

import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import Address, Client
from accounts.services import address_add as accounts_address_add
from consent.models import Channel, ConsentAction
from consent.services import consent_record
from rights.models import DataSubjectRequest, Rectification
from rights.rectification import client_rectify
from sharing.models import Affiliate, WithdrawalNotice
from sharing.services import affiliate_key_create
from tests.conftest import PASSWORD
from tests.sharing.conftest import bearer, engage, make_affiliate, recipient_purpose

pytestmark = pytest.mark.django_db

CORRECT = reverse("rights:correct")
OLD_PHONE = "+4915123456789"  # the owner's phone (tests/conftest.py), in E.164
NEW_PHONE = "+4915198765432"


@pytest.fixture
def portal(client, owner):
    client.force_login(owner.user)
    return client


@pytest.fixture
def ads_key(db):
    """An affiliated company that receives IP address and email for promotional sharing."""
    return affiliate_key_create(affiliate=make_affiliate("Ads Network"))[1]


@pytest.fixture
def dropship_key(db, owner):
    """A drop-shipping partner that receives name, phone and shipping address for order fulfilment (the owner has an
    order routed to it)."""
    partner = make_affiliate("Dropship Partner", kind=Affiliate.Kind.DROPSHIP_PARTNER, purpose="order-fulfilment",
                             fields=("name", "phone", "shipping_address"), country="CN")
    engage(partner, [owner])
    return affiliate_key_create(affiliate=partner)[1]


@pytest.fixture
def home(owner):
    return accounts_address_add(client=owner, kind=Address.Kind.RESIDENTIAL, country="DE", line1="Alte Gasse 1",
                                city="Berlin", postcode="10115")


def correct(portal, **fields):
    data = {"full_name": "Owner Client", "phone": OLD_PHONE, "password": PASSWORD, **fields}
    return portal.post(CORRECT, data)


def feed(api, key, purpose, since):
    response = api.get("/api/v1/withdrawals/", {"purpose": purpose, "since": since.isoformat()}, **bearer(key))
    assert response.status_code == 200
    return response.json()["results"]


def nothing_recorded(owner):
    return not Rectification.objects.exists() and not WithdrawalNotice.objects.exists() and not (
        DataSubjectRequest.objects.filter(client=owner).exists())


def test_an_invalid_phone_is_shown_next_to_the_field_and_nothing_changes(portal, owner):
    response = correct(portal, full_name="Owner Renamed", phone="+49 123")
    assert response.status_code == 400
    assert "is not a valid phone number" in str(response.context["form"].errors["phone"])
    page = response.content.decode()
    assert 'value="Owner Renamed"' in page and 'value="+49 123"' in page  # what was typed is still there
    owner.refresh_from_db()
    assert (owner.full_name, owner.phone) == ("Owner Client", OLD_PHONE)
    assert nothing_recorded(owner)


def test_an_empty_name_is_refused_and_nothing_changes(portal, owner):
    response = correct(portal, full_name="   ", phone=NEW_PHONE)
    assert response.status_code == 400
    assert response.context["form"].errors["full_name"]
    owner.refresh_from_db()
    assert (owner.full_name, owner.phone) == ("Owner Client", OLD_PHONE)
    assert nothing_recorded(owner)


def test_the_service_validates_the_name_as_sign_up_does_whoever_calls_it(owner):
    with pytest.raises(ValidationError, match="full name"):
        client_rectify(client=owner, changes={"full_name": ""}, actor=owner.user)
    assert Client.objects.get(pk=owner.pk).full_name == "Owner Client"


def test_a_correction_needs_the_password_again(portal, owner):
    response = correct(portal, phone=NEW_PHONE, password="not my password")
    assert response.status_code == 400 and response.context["form"].errors["password"]
    assert Client.objects.get(pk=owner.pk).phone == OLD_PHONE
    assert nothing_recorded(owner)


def test_a_valid_correction_updates_the_client_and_keeps_only_digests_of_old_and_new_values(portal, owner):
    response = correct(portal, full_name="Owner Corrected", phone="+49 151 98765432")
    assert response.status_code == 302
    owner.refresh_from_db()
    assert (owner.full_name, owner.phone) == ("Owner Corrected", NEW_PHONE)  # stored in E.164, as at sign-up

    rows = list(Rectification.objects.filter(client=owner).order_by("field"))
    assert [row.field for row in rows] == ["full_name", "phone"]
    assert all(row.by == owner.user for row in rows)
    stored = " ".join(str(v) for row in Rectification.objects.values() for v in row.values())
    for clear in ["Owner Client", OLD_PHONE, "151 23456789", "Owner Corrected", NEW_PHONE]:
        assert clear not in stored
    for row in rows:
        assert re.fullmatch(r"[0-9a-f]{64}", row.old_digest) and re.fullmatch(r"[0-9a-f]{64}", row.new_digest)
        assert row.old_digest != row.new_digest

    request = rows[0].request
    assert request.kind == "rectification" and request.status == "completed" and request.client == owner
    assert "Owner" not in request.outcome and OLD_PHONE not in request.outcome
    [message] = portal.get(CORRECT).context["messages"]
    assert str(message).startswith("Corrected: full name, phone number.")


def test_the_same_values_again_record_nothing_and_say_so(portal, owner):
    before = Client.objects.get(pk=owner.pk).updated_at
    response = correct(portal, phone="+49 151 23456789")  # the same number, written differently
    assert response.status_code == 302
    assert nothing_recorded(owner)
    assert Client.objects.get(pk=owner.pk).updated_at == before  # `updated_since` feeds see no change
    assert "Nothing changed" in str(list(portal.get(CORRECT).context["messages"])[0])


def test_an_affiliate_that_received_the_phone_sees_it_rectified_and_one_that_received_other_fields_sees_nothing(
        portal, owner, ads_key, dropship_key):
    api = portal.__class__()
    consent_record(client=owner, purpose=recipient_purpose(Affiliate.objects.get(name="Ads Network")),
                   action=ConsentAction.GRANT, channel=Channel.PORTAL)
    assert len(api.get("/api/v1/clients/", {"purpose": "promotional-sharing"}, **bearer(ads_key)).json()["results"]) == 1
    assert len(api.get("/api/v1/clients/", {"purpose": "order-fulfilment"}, **bearer(dropship_key)).json()["results"]) == 1
    since = timezone.now()

    correct(portal, phone=NEW_PHONE)

    [notice] = feed(api, dropship_key, "order-fulfilment", since)  # received name, phone, shipping address
    assert notice["reason"] == "rectified" and notice["fields"] == ["phone"]
    assert notice["client_id"] == str(owner.public_id) and notice["acknowledged_at"] is None
    assert feed(api, ads_key, "promotional-sharing", since) == []  # received only IP address and email
    fetched = api.get(f"/api/v1/clients/{owner.public_id}/", {"purpose": "order-fulfilment"}, **bearer(dropship_key))
    assert fetched.json()["phone"] == NEW_PHONE
    ack = api.post("/api/v1/withdrawals/ack", {"ids": [notice["id"]]}, content_type="application/json",
                   **bearer(dropship_key))
    assert ack.json() == {"acknowledged": 1}


def test_the_api_schema_documents_rectified_notices_and_their_fields(client):
    schemas = client.get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]
    item = schemas["WithdrawalItem"]
    assert "fields" in item["required"]
    reason_enum = schemas[item["properties"]["reason"]["$ref"].rsplit("/", 1)[1]]["enum"]
    assert "rectified" in reason_enum
    fields_enum = schemas[item["properties"]["fields"]["items"]["$ref"].rsplit("/", 1)[1]]["enum"]
    assert set(fields_enum) == {"name", "email", "phone", "ip_address", "shipping_address"}


def test_correcting_an_address_reaches_affiliates_that_received_addresses(portal, owner, home, dropship_key):
    api = portal.__class__()
    api.get("/api/v1/clients/", {"purpose": "order-fulfilment"}, **bearer(dropship_key))
    since = timezone.now()

    response = portal.post(reverse("rights:address_edit", args=[home.pk]), {
        "kind": "residential", "country": "DE", "line1": "Neue Straße 2", "line2": "", "city": "Berlin",
        "region": "", "postcode": "10117", "password": PASSWORD})

    assert response.status_code == 302
    home.refresh_from_db()
    assert (home.line1, home.postcode) == ("Neue Straße 2", "10117")
    [row] = Rectification.objects.filter(client=owner).values()
    assert row["field"] == "address"
    assert not any(clear in str(value) for value in row.values() for clear in ("Alte Gasse", "Neue Straße", "10115"))
    [notice] = feed(api, dropship_key, "order-fulfilment", since)
    assert notice["reason"] == "rectified" and notice["fields"] == ["shipping_address"]
    changed = api.get("/api/v1/clients/", {"purpose": "order-fulfilment", "updated_since": since.isoformat()},
                      **bearer(dropship_key)).json()["results"]
    assert [a["line1"] for a in changed[0]["shipping_addresses"]] == ["Neue Straße 2"]


def test_a_bad_address_is_shown_next_to_its_fields_and_nothing_changes(portal, owner, home):
    response = portal.post(reverse("rights:address_edit", args=[home.pk]), {
        "kind": "residential", "country": "", "line1": "Neue Straße 2", "city": "", "password": PASSWORD})
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {"country", "city"}
    assert 'value="Neue Straße 2"' in response.content.decode()
    home.refresh_from_db()
    assert home.line1 == "Alte Gasse 1"
    assert nothing_recorded(owner)


def test_a_client_adds_and_removes_their_own_addresses_and_each_is_recorded(portal, owner):
    response = portal.post(reverse("rights:address_add"), {
        "kind": "office", "country": "DE", "line1": "Büro 5", "city": "Hamburg", "password": PASSWORD})
    assert response.status_code == 302
    office = owner.addresses.get()
    assert (office.kind, office.city) == ("office", "Hamburg")

    assert portal.get(reverse("rights:address_remove", args=[office.pk])).status_code == 200
    response = portal.post(reverse("rights:address_remove", args=[office.pk]), {"password": PASSWORD})
    assert response.status_code == 302
    assert not owner.addresses.exists()
    assert list(Rectification.objects.filter(client=owner).values_list("field", flat=True)) == ["address", "address"]
    assert DataSubjectRequest.objects.filter(client=owner, kind="rectification", status="completed").count() == 2


def test_another_clients_address_is_not_found(portal, outsider):
    theirs = accounts_address_add(client=outsider, kind=Address.Kind.OFFICE, country="FR", line1="1 rue de Rivoli",
                                  city="Paris")
    edit, remove = reverse("rights:address_edit", args=[theirs.pk]), reverse("rights:address_remove", args=[theirs.pk])
    assert portal.get(edit).status_code == 404
    assert portal.post(edit, {"kind": "office", "country": "FR", "line1": "Stolen", "city": "Paris",
                              "password": PASSWORD}).status_code == 404
    assert portal.post(remove, {"password": PASSWORD}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.line1 == "1 rue de Rivoli"
    assert not Rectification.objects.exists()


@pytest.mark.parametrize("url", [CORRECT, reverse("rights:address_add"), reverse("rights:address_edit", args=[1]),
                                 reverse("rights:address_remove", args=[1])])
def test_anonymous_visitors_are_sent_to_log_in(client, url):
    for response in (client.get(url), client.post(url, {"full_name": "X", "password": "x"})):
        assert response.status_code == 302 and response.url.startswith(reverse("login"))
