"""The dashboard's body and the list of "Your choices" are kept rendered (fulfillmen/dashboard_page.py,
consent/choices_page.py) while their version — read in one statement — stays the same: each kind of change shows
on the very next visit, a disclosure under a non-disclosure order changes nothing a client could notice, another
client never gets the owner's page, and erasure forgets it."""

import time
import uuid
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Address, Client, IPObservation
from accounts.page_fragments import DASHBOARD, fragment_key
from accounts.services import address_add, ip_observation_record
from amendments.models import PolicyVersion
from consent import offers
from consent.models import Channel, ConsentAction, Purpose
from consent.services import consent_record
from sharing.models import Affiliate, SharingRecord
from sharing.selectors import SUMMARY_COUNT_CAP, sharing_summary_of_client, sharing_summary_version_sql
from sharing.services import sharing_records_write, sharing_records_write_to_recipient
from tests.kept_pages import kept_visit
from tests.sharing.conftest import make_affiliate

pytestmark = pytest.mark.django_db
DASH, CHOICES = reverse("portal:dashboard"), reverse("consent:choices")


def visit(client, path=DASH, **headers):
    return kept_visit(client, path, **headers)


@pytest.fixture
def seen(client, owner):
    """The owner logged in, the dashboard visited once (IP observation recorded) and kept by a second visit."""
    client.force_login(owner.user)
    visit(client)
    visit(client)
    return client


def promo():
    return Purpose.objects.get(code="promotional-sharing")


def share(owner, affiliate, **extra):
    sharing_records_write(affiliate=affiliate, purpose=promo(), fields=["email"], client_ids=[owner.pk], api_key=None,
                          request_id=uuid.uuid4(), at=timezone.now() - timedelta(minutes=1), **extra)


def test_a_second_visit_is_the_same_page_from_three_statements(seen):
    first, _ = visit(seen)
    again, statements = visit(seen)
    assert again == first
    assert statements == 3  # session, user with client, the version of everything on the body


def test_an_address_changed_behind_the_orm_shows_at_once(seen, owner):
    address_add(client=owner, kind=Address.Kind.OFFICE, country="DE", line1="Friedrichstrasse 5", city="Berlin")
    assert "Friedrichstrasse 5" in visit(seen)[0]
    Address.objects.filter(client=owner).update(line1="Friedrichstrasse 7")  # no save(), no signal, no updated_at
    page = visit(seen)[0]
    assert "Friedrichstrasse 7" in page and "Friedrichstrasse 5" not in page


def test_a_new_ip_address_and_a_corrected_name_show_at_once(seen, owner):
    ip_observation_record(client=owner, ip_address="203.0.113.77", context=IPObservation.Context.LOGIN)
    assert "203.0.113.77" in visit(seen)[0]
    Client.objects.filter(pk=owner.pk).update(full_name="Owner Renamed")
    assert "Hello, Owner Renamed." in visit(seen)[0]


def test_a_consent_a_withdrawal_and_a_renamed_purpose_show_at_once(seen, owner):
    assert "Granted" not in visit(seen)[0]
    consent_record(client=owner, purpose=promo(), action=ConsentAction.GRANT, channel=Channel.PORTAL)
    assert "Granted" in visit(seen)[0]
    consent_record(client=owner, purpose=promo(), action=ConsentAction.WITHDRAW, channel=Channel.EMAIL)
    assert "Withdrawn" in visit(seen)[0]
    Purpose.objects.filter(pk=promo().pk).update(title_en="Partner promotions, renamed")
    assert "Partner promotions, renamed" in visit(seen)[0]


def test_a_material_change_shows_while_pending_and_goes_when_in_force(seen, owner):
    """Nothing in the database changes when the date comes: the version holds which versions are pending now."""
    PolicyVersion.objects.create(label="9.1", body_en="New text", is_material=True, published_at=timezone.now(),
                                 effective_at=timezone.now() + timedelta(seconds=2))
    assert "please accept or object to version 9.1" in visit(seen)[0]
    assert "please accept or object to version 9.1" in visit(seen)[0]  # kept
    time.sleep(2.1)
    assert "version 9.1" not in visit(seen)[0]


def test_a_record_shows_at_once_but_one_under_a_gag_order_changes_nothing_until_its_date(seen, owner, monkeypatch):
    ads = make_affiliate("Ads Network")
    share(owner, ads)
    kept, _ = visit(seen)
    assert "Your data was sent outside Fulfillmen 1 time." in kept and "Ads Network" in kept
    tomorrow = timezone.localdate() + timedelta(days=1)
    sharing_records_write_to_recipient(recipient_name="Shenzhen Public Security Bureau", recipient_country="CN",
                                       purpose=Purpose.objects.get(code="legal-obligation"), fields=["name"],
                                       client_ids=[owner.pk], request_id=uuid.uuid4(), at=timezone.now(),
                                       withheld_until=tomorrow)
    page, statements = visit(seen)
    assert page == kept and statements == 3, "the withheld record neither shows nor makes the page render again"
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: tomorrow)  # the date the order ends
    page = visit(seen)[0]
    assert "Your data was sent outside Fulfillmen 2 times." in page and "Shenzhen Public Security Bureau" in page


def test_the_gpc_note_follows_each_request(seen, owner):
    consent_record(client=owner, purpose=promo(), action=ConsentAction.GRANT, channel=Channel.PORTAL)
    consent_record(client=owner, purpose=promo(), action=ConsentAction.WITHDRAW, channel=Channel.GPC)
    note = "Global Privacy Control signal was honoured"
    assert note in visit(seen, HTTP_SEC_GPC="1")[0]
    assert note not in visit(seen)[0]
    assert note in visit(seen, HTTP_SEC_GPC="1")[0]


def test_another_client_never_gets_the_owners_kept_page(seen, client, owner, outsider):
    client.force_login(outsider.user)
    page = visit(client)[0]
    assert outsider.email in page and owner.email not in page and "Hello, Outside Person." in page


def test_erasure_forgets_the_kept_dashboard(seen, owner):
    from accounts.page_fragments import dashboard_fragments_forget

    key = fragment_key(name=DASHBOARD, owner_id=owner.pk, language="en")
    assert cache.get(key) is not None
    dashboard_fragments_forget(owner_id=owner.pk)
    assert cache.get(key) is None


@pytest.mark.parametrize("withheld_days", [None, -1, 0, 1, 30])
def test_the_versions_summary_is_the_pages_summary(owner, withheld_days):
    """The dashboard's version and its card read the same visible records: equal for every kind of withholding,
    below and above the cap."""
    ads = make_affiliate("Ads Network")
    for n in (1, SUMMARY_COUNT_CAP + 1):
        sharing_records_write(affiliate=ads, purpose=promo(), fields=["email"], client_ids=[owner.pk] * n, api_key=None,
                              request_id=uuid.uuid4(), at=timezone.now() - timedelta(days=1))
        until = None if withheld_days is None else timezone.localdate() + timedelta(days=withheld_days)
        sharing_records_write_to_recipient(recipient_name="An Authority", recipient_country="CN", purpose=promo(),
                                           fields=["name"], client_ids=[owner.pk], request_id=uuid.uuid4(),
                                           at=timezone.now(), withheld_until=until)
        with connection.cursor() as cursor:
            parts = sharing_summary_version_sql(owner.pk)
            cursor.execute("SELECT " + ", ".join(sql for sql, _ in parts), [v for _, p in parts for v in p])
            newest_id, count = cursor.fetchone()
        last = sharing_summary_of_client(client=owner)
        assert (newest_id, count) == (last.pk, last.total)
        assert SharingRecord.objects.filter(client=owner).count() > count or withheld_days is None or withheld_days <= 0


def test_your_choices_kept_from_three_statements_and_a_renamed_or_new_recipient_shows_at_once(client, owner):
    ads = make_affiliate("Ads Network")
    client.force_login(owner.user)
    visit(client, CHOICES)
    first, _ = visit(client, CHOICES)
    again, statements = visit(client, CHOICES)
    assert again == first and statements == 3 and "Ads Network" in first
    Affiliate.objects.filter(pk=ads.pk).update(name="Renamed Recipient Ltd")  # behind the ORM's back
    assert "Renamed Recipient Ltd" in visit(client, CHOICES)[0]
    make_affiliate("Second Partner")
    assert "Second Partner" in visit(client, CHOICES)[0]


def test_an_offer_without_a_version_is_never_kept(client, owner, monkeypatch):
    from transfers.selectors import new_purpose_audiences, new_purposes

    monkeypatch.setattr(offers, "_registered", [offers.PurposeAudience(restricted=new_purposes, offered=new_purpose_audiences)])
    client.force_login(owner.user)
    visit(client, CHOICES)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(CHOICES).status_code == 200
    statements = " ".join(q["sql"] for q in queries)
    assert "md5(string_agg" not in statements and '"consent_purpose"."title_en"' in statements  # rendered every time


def test_a_version_part_compiled_once_takes_each_calls_values(owner, outsider):
    from accounts.page_fragments import query_digest_part, query_digest_sql, version_read

    def addresses(client_id):
        return Address.objects.filter(client_id=client_id).values("line1", "city")

    address_add(client=owner, kind=Address.Kind.RESIDENTIAL, line1="Hauptstr. 1", city="Berlin", postcode="10115",
                country="DE")
    for person in (owner, outsider, owner):
        assert version_read([query_digest_part(addresses, person.pk)]) == version_read([query_digest_sql(addresses(person.pk))])
    assert version_read([query_digest_part(addresses, owner.pk)]) != version_read([query_digest_part(addresses, outsider.pk)])
    with pytest.raises(ValueError, match="each value must be one parameter"):
        query_digest_part(lambda client_id: Address.objects.all(), owner.pk)
    with pytest.raises(ValueError, match="depend on its values only as parameters"):  # else frozen at the first call
        query_digest_part(lambda client_id: Address.objects.filter(client_id=client_id, id__gt=client_id - 1), owner.pk)
