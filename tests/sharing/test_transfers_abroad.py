"""Transfers abroad (PIPL Art. 38-39; GDPR Art. 44-49): "abroad" is a recipient whose country code differs from
DATA_STORAGE_COUNTRY (Hong Kong, Macao and Taiwan are outside mainland China); the API refuses a recipient abroad
without a transfer mechanism and serves abroad only the clients who gave that recipient separate consent where
TRANSFER_CONSENT_JURISDICTIONS asks for it; the admin, the export, "Who received your data" and the receipts name
the storage location and each recipient's country and mechanism."""

import io
import json
import uuid
import zipfile

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.jurisdictions import is_abroad
from consent.models import Channel, ConsentAction, ConsentEvent, ConsentState, Purpose
from consent.services import consent_record
from rights.export import export_archive
from sharing.models import Affiliate, RecipientConsent, SharingRecord
from sharing.pages import client_page_share
from sharing.selectors import agreement_in_force, clients_for_affiliate
from sharing.services import affiliate_key_create, affiliate_save
from tests.conftest import make_client

from .conftest import bearer, engage, make_affiliate

pytestmark = pytest.mark.django_db

CLIENTS = "/api/v1/clients/"
ORDERS = "order-fulfilment"
ORDER_FIELDS = ("name", "phone", "shipping_address")


def chinese(n=0):
    return make_client(f"cn{n}@example.com", country="CN", phone="+8613800138000", full_name=f"Li {n}")


def californian(n=0):
    return make_client(f"ca{n}@example.com", country="US", region="US-CA", phone="+14155552671", full_name=f"Cal {n}")


def get(browser, affiliate, path=CLIENTS, purpose="promotional-sharing"):
    return browser.get(path, {"purpose": purpose}, **bearer(affiliate_key_create(affiliate=affiliate)[1]))


def ids(response):
    assert response.status_code == 200, response.content
    return {item["id"] for item in response.json()["results"]}


def transfer_consent(affiliate, code=ORDERS) -> Purpose:
    return RecipientConsent.objects.get(affiliate=affiliate, purpose__code=code).consent_purpose


def test_hong_kong_macao_and_taiwan_are_abroad_from_mainland_china_and_codes_not_names_are_compared(settings):
    assert [is_abroad(c) for c in ("HK", "MO", "TW", "US", "", "cn", "CN")] == [True] * 5 + [False] * 2
    settings.DATA_STORAGE_COUNTRY = "HK"
    assert not is_abroad("HK") and is_abroad("CN")


def test_api_refuses_transfer_abroad_without_mechanism(client):
    """A recipient stored before the rule (or made abroad by a new DATA_STORAGE_COUNTRY): nothing sent or recorded."""
    legacy = make_affiliate("Legacy Ads", transfer_mechanism=Affiliate.TransferMechanism.NONE)
    californian()
    for path in (CLIENTS, f"{CLIENTS}{uuid.uuid4()}/"):
        response = get(client, legacy, path)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "transfer_not_permitted"
        assert "no transfer mechanism" in response.json()["error"]["message"]
    assert not SharingRecord.objects.exists()
    since = timezone.now().isoformat()
    feed = client.get("/api/v1/withdrawals/", {"purpose": "promotional-sharing", "since": since},
                      **bearer(affiliate_key_create(affiliate=legacy)[1]))
    assert feed.status_code == 200  # what it must delete it may always learn


def test_a_recipient_in_mainland_china_needs_no_mechanism(client):
    domestic = make_affiliate("Loyalty Club", country="CN", fields=("email",))
    ca = californian()
    assert ids(get(client, domestic)) == {str(ca.public_id)}
    assert SharingRecord.objects.get().transfer_mechanism == ""


def test_api_serves_abroad_only_clients_who_gave_that_recipient_separate_consent_under_pipl(client):
    partner = make_affiliate("Overseas Dropship", kind=Affiliate.Kind.DROPSHIP_PARTNER, purpose=ORDERS,
                             fields=ORDER_FIELDS, country="US", transfer_mechanism=Affiliate.TransferMechanism.PIPL_CERTIFICATION)
    cn, ca = chinese(), californian()
    engage(partner, [cn, ca])  # a partner receives only clients whose orders it handles
    assert ids(get(client, partner, purpose=ORDERS)) == {str(ca.public_id)}  # contract basis; PIPL asks the Chinese client
    assert ConsentState.objects.get(client=cn, purpose=transfer_consent(partner)).granted is False
    client.force_login(cn.user)
    assert "Give consent: Transfer abroad to Overseas Dropship" in client.get(reverse("consent:choices")).content.decode()
    client.post(reverse("consent:change", args=[transfer_consent(partner).code]), {"action": "grant"})
    assert ids(get(client, partner, purpose=ORDERS)) == {str(ca.public_id), str(cn.public_id)}
    assert set(SharingRecord.objects.values_list("transfer_mechanism", flat=True)) == {"pipl-certification"}
    consent_record(client=cn, purpose=transfer_consent(partner), action=ConsentAction.WITHDRAW, channel=Channel.PORTAL)
    assert ids(get(client, partner, purpose=ORDERS)) == {str(ca.public_id)}
    assert SharingRecord.objects.filter(client=cn).count() == 1


def test_a_californian_is_not_asked_for_a_transfer_that_rests_on_the_contract(client):
    make_affiliate("Overseas Dropship", kind=Affiliate.Kind.DROPSHIP_PARTNER, purpose=ORDERS, fields=ORDER_FIELDS,
                   country="US")
    ca = californian()
    client.force_login(ca.user)
    page = client.get(reverse("consent:choices")).content.decode()
    assert "Not asked where you live: this transfer rests on your contract with us." in page
    assert "Give consent: Transfer abroad to Overseas Dropship" not in page


def test_a_default_never_counts_as_separate_consent_for_a_transfer_abroad(client, settings):
    """The privacy officer extends PIPL's separate consent to California (PIPL Art. 3): the opt-out default its
    clients got for the Hong Kong recipient no longer lets their data go there; their own consent does."""
    ads = make_affiliate("Ads Network")
    ca = californian()
    assert ids(get(client, ads)) == {str(ca.public_id)}
    settings.TRANSFER_CONSENT_JURISDICTIONS = ["cn", "us-ca"]
    assert ids(get(client, ads)) == set()
    new = californian(1)  # a new Californian now starts withdrawn for a recipient abroad
    child = RecipientConsent.objects.get(affiliate=ads).consent_purpose
    assert ConsentState.objects.get(client=new, purpose=child).granted is False
    consent_record(client=ca, purpose=child, action=ConsentAction.WITHDRAW, channel=Channel.PORTAL)
    consent_record(client=ca, purpose=child, action=ConsentAction.GRANT, channel=Channel.PORTAL)
    assert ids(get(client, ads)) == {str(ca.public_id)}


def test_the_sql_page_and_the_orm_page_agree_for_a_recipient_abroad():
    partner = make_affiliate("Overseas Dropship", kind=Affiliate.Kind.DROPSHIP_PARTNER, purpose=ORDERS,
                             fields=ORDER_FIELDS, country="US")
    clients = [chinese(0), chinese(1), californian(0), make_client("de@example.com", country="DE")]
    engage(partner, clients)
    consent_record(client=clients[1], purpose=transfer_consent(partner), action=ConsentAction.GRANT, channel=Channel.PORTAL)
    agreement = agreement_in_force(affiliate=partner, purpose_code=ORDERS)
    reference = clients_for_affiliate(affiliate=partner, agreement=agreement, limit=10)
    shared = client_page_share(affiliate=partner, agreement=agreement, api_key=None, request_id=uuid.uuid4(),
                               at=timezone.now(), limit=10)
    assert shared.items == reference.items and shared.client_ids == reference.client_ids
    assert shared.client_ids == [c.pk for c in clients[1:]]


def test_admin_requires_a_transfer_mechanism_and_its_reference_for_a_recipient_abroad(client, privacy_officer):
    from tests.sharing.test_admin import affiliate_form

    client.force_login(privacy_officer)
    add = reverse("admin:sharing_affiliate_add")
    data = {**affiliate_form(), "agreements-TOTAL_FORMS": "0", "country": "HK"}
    page = client.post(add, data).content.decode()
    assert "choose the mechanism that makes the transfer lawful" in page
    page = client.post(add, {**data, "transfer_mechanism": "eu-scc"}).content.decode()
    assert "Give the filing, certificate or contract reference of the mechanism." in page
    page = client.post(add, {**data, "transfer_mechanism": "eu-scc", "transfer_mechanism_reference": "SCC-1",
                             "rights_contact": "javascript:alert(1)"}).content.decode()
    assert "Give an e-mail address or a web page starting with https://." in page
    assert not Affiliate.objects.filter(name=data["name"]).exists()
    response = client.post(add, {**data, "transfer_mechanism": "eu-scc", "transfer_mechanism_reference": "SCC-1",
                                 "address": "1 Queensway", "rights_contact": "https://partner.example/privacy"})
    assert response.status_code == 302
    assert Affiliate.objects.get(name=data["name"]).transfer_mechanism_reference == "SCC-1"


def test_support_agents_and_outsiders_cannot_change_a_recipients_transfer_mechanism(client, support_agent, owner):
    ads = make_affiliate("Ads Network")
    url = reverse("admin:sharing_affiliate_change", args=[ads.pk])
    for user in (support_agent, owner.user):
        client.force_login(user)
        response = client.post(url, {"transfer_mechanism": "none"})
        assert response.status_code in (302, 403)
    assert Affiliate.objects.get(pk=ads.pk).transfer_mechanism == Affiliate.TransferMechanism.PIPL_STANDARD_CONTRACT


def test_a_recipient_that_moves_abroad_gets_the_separate_consent_for_its_transfers():
    partner = make_affiliate("Dropship Partner", kind=Affiliate.Kind.DROPSHIP_PARTNER, purpose=ORDERS, fields=ORDER_FIELDS,
                             country="CN")
    cn = chinese()
    assert not RecipientConsent.objects.filter(affiliate=partner).exists()
    partner.country, partner.transfer_mechanism, partner.transfer_mechanism_reference = "MO", "pipl-standard-contract", "SC-9"
    affiliate_save(affiliate=partner)
    assert ConsentState.objects.get(client=cn, purpose=transfer_consent(partner)).granted is False


def test_export_and_received_page_show_the_storage_location_and_each_recipients_country_and_mechanism(client):
    ads, loyalty = make_affiliate("Ads Network"), make_affiliate("Loyalty Club", country="CN", fields=("email",))
    ca = californian()
    get(client, ads), get(client, loyalty)
    client.force_login(ca.user)
    page = client.get(reverse("sharing:received")).content.decode()
    assert "Your data is stored in Mainland China (CN)." in page
    assert "Yes, under: PIPL standard contract filed with the CAC" in page and "No: it stayed in Mainland China (CN)." in page
    archive = zipfile.ZipFile(export_archive(client=ca, generated_at=timezone.now()))
    document = json.loads(archive.read("data.json"))
    assert document["storage_location"] == {"country": "CN", "name": "Mainland China (CN)"}
    rows = {row["recipient"]: row for row in document["categories"]["sharing_records"]["rows"]}
    assert rows["Ads Network"]["recipient_country"] == "Hong Kong"
    assert rows["Ads Network"]["transfer"] == "Abroad, under: PIPL standard contract filed with the CAC"
    assert rows["Loyalty Club"]["transfer"] == "Not abroad"
    csv = archive.read("sharing_records.csv").decode("utf-8-sig")
    assert "Transfer abroad" in csv.splitlines()[0] and "Abroad, under: PIPL standard contract" in csv
    assert "Stored in: Mainland China (CN)." in archive.read("README.txt").decode()


def test_a_disclosure_records_no_mechanism_but_shows_as_abroad_on_the_received_page(client, owner):
    from sharing.services import sharing_records_write_to_recipient

    sharing_records_write_to_recipient(recipient_name="US Court", recipient_country="US",
                                       purpose=Purpose.objects.get(code="legal-obligation"), fields=["email"],
                                       client_ids=[owner.pk], request_id=uuid.uuid4(), at=timezone.now())
    client.force_login(owner.user)
    page = client.get(reverse("sharing:received")).content.decode()
    assert "Yes: outside Mainland China (CN)." in page


def test_every_consent_event_of_this_file_verifies():
    from django.core.management import call_command

    californian(), chinese()
    make_affiliate("Overseas Dropship", kind=Affiliate.Kind.DROPSHIP_PARTNER, purpose=ORDERS, fields=ORDER_FIELDS,
                   country="TW")
    out = io.StringIO()
    call_command("verify_ledger", stdout=out)
    assert "Ledger intact" in out.getvalue()
    assert ConsentEvent.objects.filter(purpose__parent__code=ORDERS).count() == 2
