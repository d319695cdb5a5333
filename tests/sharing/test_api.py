from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.models import Address, IPObservation
from accounts.services import address_add, ip_observation_record
from consent.models import Channel, ConsentAction, Purpose
from consent.services import consent_record
from sharing.api import MAX_PAGE_SIZE
from sharing.models import ApiKey, SharingRecord, WithdrawalNotice
from sharing.services import affiliate_key_create, agreement_end, api_key_revoke
from tests.conftest import make_client

from .conftest import bearer, engage

pytestmark = pytest.mark.django_db

CLIENTS = "/api/v1/clients/"


def californian(n=0, **extra):
    return make_client(f"ca{n}@example.com", country="US", region="US-CA", phone="+14155552671", full_name=f"Cal {n}", **extra)


def promo():
    return Purpose.objects.get(code="promotional-sharing")


def get(client, key, path=CLIENTS, **params):
    return client.get(path, params, **bearer(key))


def error_code(response):
    return response.json()["error"]["code"]


@pytest.mark.parametrize(("header", "code"), [
    (None, "not_authenticated"),
    ("Bearer fpp_deadbeef_nothing", "unknown_key"),
    ("Basic dXNlcjpwYXNz", "bad_authorization_header"),
    ("Bearer not-a-key", "unknown_key"),
])
def test_missing_or_unknown_keys_get_401_with_a_code(client, ads, header, code):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get(CLIENTS, {"purpose": "promotional-sharing"}, **extra)
    assert response.status_code == 401 and error_code(response) == code
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_key_is_refused_on_the_very_next_request(client, ads):
    api_key, key = affiliate_key_create(affiliate=ads)
    assert get(client, key, purpose="promotional-sharing").status_code == 200
    api_key_revoke(api_key=api_key)
    response = get(client, key, purpose="promotional-sharing")
    assert response.status_code == 401 and error_code(response) == "revoked_key"


def test_an_expired_key_is_refused(client, ads):
    api_key, key = affiliate_key_create(affiliate=ads, expires_at=timezone.now() + timedelta(hours=1))
    ApiKey.objects.filter(pk=api_key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = get(client, key, purpose="promotional-sharing")
    assert response.status_code == 401 and error_code(response) == "expired_key"


def test_only_a_hash_of_the_key_is_stored_and_last_use_is_recorded(client, ads):
    api_key, key = affiliate_key_create(affiliate=ads)
    assert key not in api_key.key_hash and key.startswith(f"fpp_{api_key.prefix}_")
    get(client, key, purpose="promotional-sharing")
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at is not None


def test_a_purpose_outside_the_agreement_is_403(client, ads_key, dropship_key):
    response = get(client, ads_key, purpose="order-fulfilment")
    assert response.status_code == 403 and error_code(response) == "purpose_not_agreed"
    assert get(client, dropship_key, purpose="promotional-sharing").status_code == 403


@pytest.mark.parametrize("params", [
    {},
    {"purpose": "promotional-sharing", "page_size": "0"},
    {"purpose": "promotional-sharing", "page_size": str(MAX_PAGE_SIZE + 1)},
    {"purpose": "promotional-sharing", "page_size": "lots"},
    {"purpose": "promotional-sharing", "updated_since": "yesterday"},
    {"purpose": "promotional-sharing", "cursor": "forged"},
])
def test_bad_parameters_are_400_naming_the_field(client, ads_key, params):
    response = client.get(CLIENTS, params, **bearer(ads_key))
    assert response.status_code == 400 and error_code(response) == "invalid_parameters"
    assert set(response.json()["error"]["fields"]) <= {"purpose", "page_size", "updated_since", "cursor"}


def test_affiliates_get_only_the_fields_of_their_agreement(client, ads_key, dropship, dropship_key):
    ca = californian()
    engage(dropship, [ca])  # an order of the client routed to the partner
    address_add(client=ca, kind=Address.Kind.OFFICE, country="US", line1="1 Main St", city="San Jose", postcode="95113")
    ip_observation_record(client=ca, ip_address="198.51.100.9", context=IPObservation.Context.LOGIN)
    [ads_item] = get(client, ads_key, purpose="promotional-sharing").json()["results"]
    assert ads_item == {"id": str(ca.public_id), "purpose": "promotional-sharing", "email": "ca0@example.com",
                        "ip_addresses": ["198.51.100.9"]}
    [drop_item] = get(client, dropship_key, purpose="order-fulfilment").json()["results"]
    assert set(drop_item) == {"id", "purpose", "name", "phone", "shipping_addresses"}
    assert drop_item["phone"] == "+14155552671" and drop_item["shipping_addresses"][0]["line1"] == "1 Main St"


def test_only_clients_whose_consent_is_granted_are_shared_for_a_consent_purpose(client, ads_key):
    granted = californian(1)
    make_client("eu@example.com", country="DE")  # opt-in: never asked, so never shared
    ids = [item["id"] for item in get(client, ads_key, purpose="promotional-sharing").json()["results"]]
    assert ids == [str(granted.public_id)]


def test_one_client_is_404_when_not_permitted_never_a_hint(client, ads_key):
    eu = make_client("eu@example.com", country="DE")
    for path in [f"{CLIENTS}{eu.public_id}/", f"{CLIENTS}00000000-0000-0000-0000-000000000000/", f"{CLIENTS}not-a-uuid/"]:
        response = get(client, ads_key, path, purpose="promotional-sharing")
        assert response.status_code == 404 and response.json() == {"error": {"code": "not_found", "message": "Not found."}}
    assert not SharingRecord.objects.exists()


def test_sharing_records_equal_what_was_returned(client, ads, ads_key):
    clients = [californian(n) for n in range(3)]
    response = get(client, ads_key, purpose="promotional-sharing")
    returned = {item["id"] for item in response.json()["results"]}
    records = SharingRecord.objects.filter(affiliate=ads).select_related("client")
    assert {str(r.client.public_id) for r in records} == returned == {str(c.public_id) for c in clients}
    assert {tuple(r.fields) for r in records} == {("email", "ip_address")}
    assert {str(r.request_id) for r in records} == {response["X-Request-Id"]}
    assert {r.recipient_name for r in records} == {"Ads Network"}
    assert all(r.purpose.code == "promotional-sharing" for r in records)


def test_a_failed_record_write_sends_no_data(client, ads_key):
    californian()
    with connection.cursor() as cursor:
        cursor.execute("""
            CREATE FUNCTION test_refuse_record() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION USING MESSAGE = 'records are down'; END; $$ LANGUAGE plpgsql;
            CREATE TRIGGER test_refuse_record BEFORE INSERT ON sharing_sharingrecord
                FOR EACH ROW EXECUTE FUNCTION test_refuse_record();
        """)
    response = get(client, ads_key, purpose="promotional-sharing")
    assert response.status_code == 503 and response["Retry-After"]
    assert error_code(response) == "temporarily_unavailable"
    assert "ca0@example.com" not in response.content.decode()
    assert not SharingRecord.objects.exists()


def test_a_client_who_withdraws_in_the_portal_is_gone_next_time_and_in_the_withdrawal_feed(client, ads, ads_key):
    ca = californian()
    since = timezone.now()
    assert len(get(client, ads_key, purpose="promotional-sharing").json()["results"]) == 1
    portal = client.__class__()
    portal.force_login(ca.user)
    portal.post(reverse("consent:change", args=["promotional-sharing"]), {"action": "withdraw"})
    assert get(client, ads_key, purpose="promotional-sharing").json()["results"] == []
    feed = get(client, ads_key, "/api/v1/withdrawals/", purpose="promotional-sharing", since=since.isoformat()).json()
    [notice] = feed["results"]
    assert notice["client_id"] == str(ca.public_id) and notice["reason"] == "consent-withdrawn"
    assert notice["acknowledged_at"] is None


def test_withdrawals_reach_only_affiliates_that_received_the_client(client, ads, ads_key):
    never_shared = californian(1)
    consent_record(client=never_shared, purpose=promo(), action=ConsentAction.WITHDRAW, channel=Channel.PORTAL)
    assert not WithdrawalNotice.objects.exists()


def test_acknowledging_marks_only_the_affiliates_own_notices(client, ads, ads_key):
    ca = californian()
    get(client, ads_key, purpose="promotional-sharing")
    consent_record(client=ca, purpose=promo(), action=ConsentAction.WITHDRAW, channel=Channel.GPC)
    notice = WithdrawalNotice.objects.get(affiliate=ads)
    assert notice.reason == WithdrawalNotice.Reason.GPC
    other_key = affiliate_key_create(affiliate=__import__("tests.sharing.conftest", fromlist=["x"]).make_affiliate("Other Co"))[1]
    ack = {"ids": [str(notice.public_id)]}
    response = client.post("/api/v1/withdrawals/ack", ack, content_type="application/json", **bearer(other_key))
    assert response.json() == {"acknowledged": 0}
    response = client.post("/api/v1/withdrawals/ack", ack, content_type="application/json", **bearer(ads_key))
    assert response.json() == {"acknowledged": 1}
    assert WithdrawalNotice.objects.get(pk=notice.pk).acknowledged_at is not None


def test_an_ended_agreement_stops_sharing_and_asks_for_deletion(client, ads, ads_key):
    californian()
    get(client, ads_key, purpose="promotional-sharing")
    agreement_end(agreement=ads.agreements.get())
    assert get(client, ads_key, purpose="promotional-sharing").status_code == 403
    assert WithdrawalNotice.objects.get(affiliate=ads).reason == WithdrawalNotice.Reason.AGREEMENT_ENDED


def test_updated_since_returns_only_clients_changed_since(client, ads_key):
    californian(1)
    cutoff = timezone.now()
    changed = californian(2)
    page = get(client, ads_key, purpose="promotional-sharing", updated_since=cutoff.isoformat()).json()
    ids = [i["id"] for i in page["results"]]
    assert ids == [str(changed.public_id)]


def test_a_next_cursor_tells_the_affiliate_no_internal_id_and_opens_only_for_its_own_query(client, ads_key):
    """The id a page ends at counts every client of the company; a signed cursor is only base64 (and zlib) of it,
    so the cursor is sealed: nothing in it decodes, and edited or reused for another query it is a 400."""
    import base64
    import zlib

    for n in range(3):
        californian(n)
    body = client.get(CLIENTS, {"purpose": "promotional-sharing", "page_size": 1}, **bearer(ads_key)).json()
    cursor = body["next_cursor"]
    payload = cursor.split(":")[0].lstrip(".")  # where django.core.signing would put it, "." when compressed
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    try:
        readable = [raw, zlib.decompress(raw)]
    except zlib.error:
        readable = [raw]
    assert not any(b'"a"' in text or b"promotional" in text for text in readable)
    following = client.get(CLIENTS, {"purpose": "promotional-sharing", "page_size": 1, "cursor": cursor}, **bearer(ads_key))
    assert following.status_code == 200 and following.json()["results"][0]["id"] != body["results"][0]["id"]
    edited = cursor[:-3] + ("A" if cursor[-3] != "A" else "B") + cursor[-2:]
    for bad in (edited, cursor):
        response = client.get(CLIENTS, {"purpose": "promotional-sharing", "page_size": 1, "cursor": bad,
                                        **({"updated_since": "2020-01-01T00:00:00Z"} if bad == cursor else {})},
                              **bearer(ads_key))
        assert response.status_code == 400 and "cursor" in response.json()["error"]["fields"]


def test_another_affiliates_cursor_is_a_400_not_a_position_in_this_ones_feed(client, ads_key):
    from .conftest import make_affiliate

    other_key = affiliate_key_create(affiliate=make_affiliate("Other Network"))[1]
    for n in range(3):
        californian(n)
    cursor = client.get(CLIENTS, {"purpose": "promotional-sharing", "page_size": 1}, **bearer(ads_key)).json()["next_cursor"]
    response = client.get(CLIENTS, {"purpose": "promotional-sharing", "page_size": 1, "cursor": cursor}, **bearer(other_key))
    assert response.status_code == 400 and "cursor" in response.json()["error"]["fields"]


def test_cursor_pages_are_complete_without_duplicates_while_clients_withdraw(client, ads_key):
    clients = [californian(n) for n in range(25)]
    seen, cursor, withdrawn_before_sent, withdrawn = [], None, set(), set()
    while True:
        params = {"purpose": "promotional-sharing", "page_size": 4, **({"cursor": cursor} if cursor else {})}
        body = client.get(CLIENTS, params, **bearer(ads_key)).json()
        seen += [item["id"] for item in body["results"]]
        # Between pages, one client already sent and one not yet sent withdraw.
        sent = [c for c in clients if str(c.public_id) in seen and c.pk not in withdrawn]
        unsent = [c for c in clients if str(c.public_id) not in seen and c.pk not in withdrawn]
        for victim in sent[:1] + unsent[-1:]:
            consent_record(client=victim, purpose=promo(), action=ConsentAction.WITHDRAW, channel=Channel.PORTAL)
            withdrawn.add(victim.pk)
        withdrawn_before_sent |= {str(c.public_id) for c in unsent[-1:]}
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)), "a client was sent twice"
    assert not withdrawn_before_sent & set(seen), "a client was sent after withdrawing"
    never_withdrawn = {str(c.public_id) for c in clients if c.pk not in withdrawn}
    assert never_withdrawn <= set(seen), "a client was skipped"


def test_a_page_costs_the_same_queries_for_5_or_100_clients(client, ads_key, django_assert_max_num_queries):
    def page_queries(n):
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            body = get(client, ads_key, purpose="promotional-sharing", page_size=500).json()
        return len(captured), len(body["results"])

    # The clock stands still: a key's last use is written at most once a minute, and a slow machine must not
    # turn that write into a difference between the two pages.
    with time_machine.travel(timezone.now(), tick=False):
        for n in range(5):
            californian(n)
        page_queries(5)  # the first use of a key records its last use; later ones within a minute do not
        small = page_queries(5)
        for n in range(5, 100):
            californian(n)
        large = page_queries(100)
    assert small[1] == 5 and large[1] == 100
    assert large[0] == small[0] <= 12


def test_what_an_affiliate_pulled_appears_on_the_clients_who_received_page(client, ads_key):
    ca = californian()
    get(client, ads_key, purpose="promotional-sharing")
    portal = client.__class__()
    portal.force_login(ca.user)
    page = portal.get(reverse("sharing:received")).content.decode()
    assert "Ads Network" in page and "Promotional sharing with affiliated companies" in page
    assert "Email address" in page and "IP address" in page
