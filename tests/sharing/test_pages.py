"""The affiliate page in one SQL statement (sharing/pages.py) answers exactly as the ORM version
(sharing.selectors.clients_for_affiliate, which the SQLite quick start uses), and records exactly what it sends."""

import threading
import time
import uuid
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.models import Address
from accounts.services import address_add, ip_observation_record
from consent.models import Channel, ConsentAction, Purpose
from consent.services import consent_record
from sharing.models import Affiliate, SharingRecord
from sharing.pages import client_page_share
from sharing.selectors import agreement_in_force, clients_for_affiliate
from tests.conftest import make_client
from tests.threads import run_in_parallel

from .conftest import engage, make_affiliate

pytestmark = pytest.mark.django_db


def _clients_with_every_kind_of_data():
    promo = Purpose.objects.get(code="promotional-sharing")
    now = timezone.now()
    clients = []
    for i, phone in enumerate(["+14155552671", "", "+8613800138000", "+4915123456789", ""]):
        client = make_client(f"c{i}@example.com", country="US", region="US-CA", phone=phone,
                             full_name=f"Client \"Nümber\" \\ {i}\t")  # quotes, a backslash, a tab: escaped in the JSON
        ip_observation_record(client=client, ip_address=f"203.0.113.{i + 1}", context="login", at=now - timedelta(days=2))
        ip_observation_record(client=client, ip_address=f"2001:db8::{i + 1}", context="login", at=now - timedelta(hours=i))
        address_add(client=client, kind=Address.Kind.RESIDENTIAL, country="CN", line1=f"{i} Nanjing Road", city="上海",
                    region="SH", postcode="200000", line2="Apt \"7\"")
        if i % 2:
            address_add(client=client, kind=Address.Kind.OFFICE, country="US", line1="1 Market St", city="San Francisco")
        consent_record(client=client, purpose=promo, action=ConsentAction.GRANT, channel=Channel.PORTAL)
        clients.append(client)
    consent_record(client=clients[2], purpose=promo, action=ConsentAction.WITHDRAW, channel=Channel.PORTAL)
    bare = make_client("bare@example.com", country="US", region="US-CA", phone="", full_name="Bare")  # no IP, no address
    consent_record(client=bare, purpose=promo, action=ConsentAction.GRANT, channel=Channel.PORTAL)
    return [*clients, bare]


def _both_ways(affiliate, purpose_code, **page):
    agreement = agreement_in_force(affiliate=affiliate, purpose_code=purpose_code)
    reference = clients_for_affiliate(affiliate=affiliate, agreement=agreement, **page)
    shared = client_page_share(affiliate=affiliate, agreement=agreement, api_key=None, request_id=uuid.uuid4(),
                               at=timezone.now(), **page)
    return reference, shared


@pytest.mark.parametrize("purpose_code, fields", [
    ("promotional-sharing", ("ip_address", "email")),  # consent: only granted clients
    ("business-transfer", ("name", "email", "phone", "shipping_address")),  # not consent: every client
    ("order-fulfilment", ("name", "phone", "shipping_address")),  # a partner: only the clients engaged with it
])
def test_the_sql_page_gives_the_same_clients_and_fields_as_the_orm_page(purpose_code, fields):
    clients = _clients_with_every_kind_of_data()
    affiliate = make_affiliate("Partner Co", purpose=purpose_code, fields=fields)
    if affiliate.kind == Affiliate.Kind.DROPSHIP_PARTNER:  # three engaged now, one long ago (beyond the tail), one never
        engage(affiliate, [clients[0], clients[1], clients[3]])
        engage(affiliate, [clients[4]], order_prefix="OLD", started_at=timezone.now() - timedelta(days=400),
               ended_at=timezone.now() - timedelta(days=300))
    after, pages = 0, 0
    while True:
        reference, shared = _both_ways(affiliate, purpose_code, after_id=after, limit=2)
        assert shared.items == reference.items
        assert (shared.client_ids, shared.has_more) == (reference.client_ids, reference.has_more)
        pages += 1
        if not shared.has_more:
            break
        after = shared.last_id
    assert pages >= 2
    members = {"name": "name", "email": "email", "phone": "phone", "ip_address": "ip_addresses",
               "shipping_address": "shipping_addresses"}
    assert all(set(item) == {"id", "purpose", *(members[f] for f in fields)} for item in shared.items)


def test_the_sql_page_records_each_client_it_sends_and_no_other():
    clients = _clients_with_every_kind_of_data()
    affiliate = make_affiliate("Ads Network")
    agreement = agreement_in_force(affiliate=affiliate, purpose_code="promotional-sharing")
    request_id = uuid.uuid4()
    page = client_page_share(affiliate=affiliate, agreement=agreement, api_key=None, request_id=request_id,
                             at=timezone.now(), limit=10)
    sent = {item["id"] for item in page.items}
    assert sent == {str(c.public_id) for c in clients if c != clients[2]}  # the withdrawn client is not sent
    records = SharingRecord.objects.filter(request_id=request_id)
    assert {str(r.client.public_id) for r in records} == sent
    assert {(r.affiliate_id, r.recipient_name, r.recipient_country, r.purpose.code, tuple(r.fields)) for r in records} == {
        (affiliate.pk, "Ads Network", "HK", "promotional-sharing", ("email", "ip_address"))}


def test_an_agreement_of_another_affiliate_is_refused_and_nothing_is_recorded():
    _clients_with_every_kind_of_data()
    ads, other = make_affiliate("Ads Network"), make_affiliate("Other Co")
    agreement = agreement_in_force(affiliate=other, purpose_code="promotional-sharing")
    with pytest.raises(ValueError, match="another affiliate"):
        clients_for_affiliate(affiliate=ads, agreement=agreement)
    with pytest.raises(ValueError, match="another affiliate"):
        client_page_share(affiliate=ads, agreement=agreement, api_key=None, request_id=uuid.uuid4(), at=timezone.now())
    assert not SharingRecord.objects.exists()


def test_updated_since_and_one_client_by_public_id_agree_with_the_orm_page():
    clients = _clients_with_every_kind_of_data()
    affiliate = make_affiliate("Ads Network")
    reference, shared = _both_ways(affiliate, "promotional-sharing", updated_since=timezone.now() + timedelta(minutes=1))
    assert shared.items == reference.items == []
    reference, shared = _both_ways(affiliate, "promotional-sharing", public_id=clients[3].public_id, limit=1)
    assert shared.items == reference.items and len(shared.items) == 1
    reference, shared = _both_ways(affiliate, "promotional-sharing", public_id=clients[2].public_id, limit=1)  # withdrew
    assert shared.items == reference.items == [] and not SharingRecord.objects.filter(client=clients[2]).exists()


@pytest.mark.django_db(transaction=True)
def test_a_withdrawal_in_flight_when_the_page_is_read_keeps_the_client_out_of_it():
    affiliate = make_affiliate("Ads Network")
    client = make_client("ca@example.com", country="US", region="US-CA", phone="+14155552671")
    promo = Purpose.objects.get(code="promotional-sharing")
    consent_record(client=client, purpose=promo, action=ConsentAction.GRANT, channel=Channel.PORTAL)
    locked, out = threading.Event(), {}

    def withdrawal():
        with transaction.atomic():
            consent_record(client=client, purpose=promo, action=ConsentAction.WITHDRAW, channel=Channel.PORTAL)
            locked.set()
            time.sleep(0.5)  # the page is now waiting on this client's consent state

    def page():
        locked.wait(10)
        agreement = agreement_in_force(affiliate=affiliate, purpose_code="promotional-sharing")
        with transaction.atomic():
            out["page"] = client_page_share(affiliate=affiliate, agreement=agreement, api_key=None,
                                            request_id=uuid.uuid4(), at=timezone.now())

    run_in_parallel([withdrawal, page], together=False)
    assert out["page"].items == []
    assert not SharingRecord.objects.filter(client=client).exists()
