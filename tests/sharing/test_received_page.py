import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import formats, timezone

from consent.models import Purpose
from sharing.services import sharing_records_write, sharing_records_write_to_recipient
from sharing.views import RECORDS_PAGE_SIZE

from .conftest import make_affiliate

pytestmark = pytest.mark.django_db

RECEIVED = reverse("sharing:received")


def share(affiliate, clients, *, purpose, fields, days_ago=0, minutes_ago=0):
    sharing_records_write(affiliate=affiliate, purpose=Purpose.objects.get(code=purpose), fields=list(fields),
                          client_ids=[c.pk for c in clients], api_key=None, request_id=uuid.uuid4(),
                          at=timezone.now() - timedelta(days=days_ago, minutes=minutes_ago))


def share_promo(affiliate, clients, **when):
    share(affiliate, clients, purpose="promotional-sharing", fields=["email", "ip_address"], **when)


def share_order(affiliate, clients, **when):
    share(affiliate, clients, purpose="order-fulfilment", fields=["name", "phone", "shipping_address"], **when)


def test_client_sees_their_records_grouped_by_recipient_and_purpose_newest_first(client, owner, outsider, ads, dropship):
    share_promo(ads, [owner, outsider], days_ago=3)
    share_promo(ads, [owner], days_ago=2)
    share_order(dropship, [owner], days_ago=1)
    client.force_login(owner.user)
    response = client.get(RECEIVED)
    assert response.status_code == 200
    groups = [(g.recipient_name, g.country_name, g.purpose.code, len(g.disclosures)) for g in response.context["groups"]]
    assert groups == [("Dropship Partner", "Mainland China", "order-fulfilment", 1),
                      ("Ads Network", "Hong Kong", "promotional-sharing", 2)]
    ads_group = response.context["groups"][1]
    assert ads_group.disclosures[0].shared_at > ads_group.disclosures[1].shared_at
    page = response.content.decode()
    assert "Email address, IP address" in page and "Name, Phone number, Shipping address" in page
    assert Purpose.objects.get(code="promotional-sharing").title_en in page and "Hong Kong" in page


def test_client_never_sees_what_was_shared_about_someone_else(client, owner, outsider):
    broker = make_affiliate("Outsider Only Broker", country="SG")
    share_promo(broker, [outsider])
    client.force_login(owner.user)
    page = client.get(RECEIVED).content.decode()
    assert "Outsider Only Broker" not in page
    assert "Nobody outside Fulfillmen has received your data yet." in page


def test_anonymous_visitor_is_sent_to_log_in(client):
    response = client.get(RECEIVED)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_staff_are_sent_to_the_admin(client, support_agent):
    client.force_login(support_agent)
    response = client.get(RECEIVED)
    assert response.status_code == 302 and response["Location"] == reverse("admin:index")


def test_a_client_with_no_records_sees_a_helpful_empty_state(client, owner):
    client.force_login(owner.user)
    response = client.get(RECEIVED)
    assert response.status_code == 200 and response.context["groups"] == []
    assert "Nobody outside Fulfillmen has received your data yet." in response.content.decode()


def test_records_are_paginated_and_the_oldest_are_on_the_last_page(client, owner, ads, dropship):
    share_order(dropship, [owner], days_ago=30)
    for n in range(RECORDS_PAGE_SIZE):
        share_promo(ads, [owner], minutes_ago=n)
    client.force_login(owner.user)
    first = client.get(RECEIVED)
    assert [g.recipient_name for g in first.context["groups"]] == ["Ads Network"]
    assert 'rel="next"' in first.content.decode() and 'rel="prev"' not in first.content.decode()
    last = client.get(RECEIVED, {"older": first.context["page"].older})
    assert [g.recipient_name for g in last.context["groups"]] == ["Dropship Partner"]
    assert 'rel="prev"' in last.content.decode() and 'rel="next"' not in last.content.decode()


def test_the_page_costs_the_same_queries_for_3_or_60_records(client, owner, ads, dropship, django_assert_max_num_queries):
    client.force_login(owner.user)
    client.get(RECEIVED)  # the first visit records the IP observation; measure the visits after it

    def queries_for_page():
        with CaptureQueriesContext(connection) as context:
            response = client.get(RECEIVED)
            assert response.status_code == 200
        return len(context), response

    for n in range(3):
        (share_promo if n % 2 else share_order)(ads if n % 2 else dropship, [owner], minutes_ago=n)
    few, _response = queries_for_page()
    for n in range(3, 60):
        (share_promo if n % 2 else share_order)(ads if n % 2 else dropship, [owner], minutes_ago=n)
    many, rendered = queries_for_page()  # the version changed with the new records: the body is rendered again
    assert many == few
    # kept: session, user with client, the version (sharing/received_page.py)
    assert queries_for_page()[0] == 3
    # an older page, rendered every time: session, user with client, the page of records (with their purposes;
    # nothing counted), what each recipient was told (withdrawal notices), business transfers announced, the
    # processors' summary
    with django_assert_max_num_queries(6):
        client.get(RECEIVED, {"older": rendered.context["page"].older})


def test_dashboard_card_counts_the_records_and_names_the_last_recipient(client, owner, ads, dropship):
    share_promo(ads, [owner], days_ago=2)
    share_order(dropship, [owner], days_ago=1)
    client.force_login(owner.user)
    page = client.get(reverse("portal:dashboard")).content.decode()
    assert "Your data was sent outside Fulfillmen 2 times." in page
    assert "Most recently, on" in page and "Dropship Partner (Mainland China)" in page
    assert f'href="{RECEIVED}"' in page and "Available soon" not in page  # every card now leads somewhere


def test_dashboard_card_says_when_nothing_was_shared(client, owner):
    client.force_login(owner.user)
    page = client.get(reverse("portal:dashboard")).content.decode()
    assert "Nobody outside Fulfillmen has received your data yet." in page


def test_the_main_navigation_links_to_the_page_for_clients_only(client, owner, support_agent):
    client.force_login(owner.user)
    page = client.get(RECEIVED).content.decode()
    assert f'<a href="{RECEIVED}" aria-current="page">Who received your data</a>' in page
    client.force_login(support_agent)
    assert RECEIVED not in client.get(reverse("home")).content.decode()


def test_dashboard_queries_do_not_grow_with_records(client, owner, ads):
    client.force_login(owner.user)
    client.get(reverse("portal:dashboard"))  # the first visit records the IP observation

    def queries_for_dashboard():
        with CaptureQueriesContext(connection) as context:
            assert client.get(reverse("portal:dashboard")).status_code == 200
        return len(context)

    share_promo(ads, [owner], days_ago=1)
    few = queries_for_dashboard()
    for n in range(40):
        share_promo(ads, [owner], minutes_ago=n)
    assert queries_for_dashboard() == few


def test_a_withheld_record_is_neither_counted_nor_named_on_the_dashboard_nor_listed(client, owner, ads):
    share_promo(ads, [owner], days_ago=2)
    sharing_records_write_to_recipient(recipient_name="Shenzhen Public Security Bureau", recipient_country="CN",
                                       purpose=Purpose.objects.get(code="legal-obligation"), fields=["name"],
                                       client_ids=[owner.pk], request_id=uuid.uuid4(), at=timezone.now(),
                                       withheld_until=timezone.localdate() + timedelta(days=30))
    client.force_login(owner.user)
    dashboard = client.get(reverse("portal:dashboard")).content.decode()
    assert "Your data was sent outside Fulfillmen 1 time." in dashboard
    assert "Most recently, on" in dashboard and ": Ads Network" in dashboard
    assert "Shenzhen" not in dashboard and "Shenzhen" not in client.get(RECEIVED).content.decode()


def test_each_row_shows_its_local_time_and_the_data_received(client, owner, ads):
    share_promo(ads, [owner], days_ago=1)
    client.force_login(owner.user)
    response = client.get(RECEIVED)
    page = response.content.decode()
    [shown] = [d for g in response.context["groups"] for d in g.disclosures]
    local = timezone.localtime(shown.shared_at)
    assert f'<time datetime="{local.isoformat()}">{formats.date_format(local, "DATETIME_FORMAT")}</time>' in page
    assert "<td>Email address, IP address</td>" in page


# Keyset pages: Newer / Older links, nothing counted, nothing skipped or repeated

def _shown_moments(response) -> list:
    return sorted((d.shared_at for g in response.context["groups"] for d in g.disclosures), reverse=True)


def _walk_older(client, first):
    pages, response = [first], first
    while response.context["page"].older:
        response = client.get(RECEIVED, {"older": response.context["page"].older})
        pages.append(response)
    return pages


def test_walking_older_then_newer_shows_every_record_once_even_those_shared_at_the_same_moment(client, owner, ads):
    at = timezone.now() - timedelta(hours=1)
    # 2 pages and a bit; the ones at the page boundary all share one timestamp (one API response writes them so)
    sharing_records_write(affiliate=ads, purpose=Purpose.objects.get(code="promotional-sharing"), fields=["email"],
                          client_ids=[owner.pk] * (RECORDS_PAGE_SIZE + 10), api_key=None, request_id=uuid.uuid4(), at=at)
    for n in range(RECORDS_PAGE_SIZE + 5):
        share_promo(ads, [owner], minutes_ago=n)
    client.force_login(owner.user)
    pages = _walk_older(client, client.get(RECEIVED))
    counts = [len(_shown_moments(p)) for p in pages]
    assert counts == [RECORDS_PAGE_SIZE, RECORDS_PAGE_SIZE, 15]
    ids = [row["id"] for p in pages for row in p.context["page"].rows]
    assert len(ids) == len(set(ids)) == 2 * RECORDS_PAGE_SIZE + 15
    back = client.get(RECEIVED, {"newer": pages[-1].context["page"].newer})
    assert [r["id"] for r in back.context["page"].rows] == [r["id"] for r in pages[1].context["page"].rows]
    front = client.get(RECEIVED, {"newer": back.context["page"].newer})
    assert [r["id"] for r in front.context["page"].rows] == [r["id"] for r in pages[0].context["page"].rows]
    assert front.context["page"].newer is None and 'rel="prev"' not in front.content.decode()


def test_a_record_shared_while_the_client_reads_appears_on_the_first_page_and_moves_no_other(client, owner, ads):
    for n in range(RECORDS_PAGE_SIZE + 3):
        share_promo(ads, [owner], minutes_ago=n + 1)
    client.force_login(owner.user)
    first = client.get(RECEIVED)
    older = first.context["page"].older
    share_promo(ads, [owner])
    second = client.get(RECEIVED, {"older": older})
    assert len(second.context["page"].rows) == 3  # the same three oldest, not the one pushed off the first page
    again = client.get(RECEIVED)
    assert len(_shown_moments(again)) == RECORDS_PAGE_SIZE
    assert again.context["page"].rows[0]["shared_at"] > first.context["page"].rows[0]["shared_at"]


def test_older_pages_never_show_another_clients_records(client, owner, outsider, ads):
    for n in range(RECORDS_PAGE_SIZE + 2):
        share_promo(ads, [owner, outsider], minutes_ago=n)
    broker = make_affiliate("Outsider Only Broker", country="SG")
    share_promo(broker, [outsider], days_ago=5)
    client.force_login(owner.user)
    pages = _walk_older(client, client.get(RECEIVED))
    assert sum(len(p.context["page"].rows) for p in pages) == RECORDS_PAGE_SIZE + 2
    assert all("Outsider Only Broker" not in p.content.decode() for p in pages)


def test_a_withheld_record_is_on_no_page_and_moves_no_boundary(client, owner, ads):
    for n in range(RECORDS_PAGE_SIZE):
        share_promo(ads, [owner], minutes_ago=n + 10)
    sharing_records_write_to_recipient(recipient_name="Shenzhen Public Security Bureau", recipient_country="CN",
                                       purpose=Purpose.objects.get(code="legal-obligation"), fields=["name"],
                                       client_ids=[owner.pk], request_id=uuid.uuid4(), at=timezone.now(),
                                       withheld_until=timezone.localdate() + timedelta(days=30))
    client.force_login(owner.user)
    first = client.get(RECEIVED)
    # exactly one page: the hidden record neither takes a row nor makes an Older link appear
    assert len(first.context["page"].rows) == RECORDS_PAGE_SIZE and first.context["page"].older is None
    assert "Shenzhen" not in first.content.decode() and 'rel="next"' not in first.content.decode()


def test_the_page_links_carry_no_record_id_a_client_could_count_others_records_by(client, owner, ads):
    """A record's id counts every record written for anyone: two of a client's cursors must not tell how many were
    written in between. The position is sealed; an edited cursor opens to nothing and gives the first page."""
    import base64

    from accounts.keyset import cursor_open

    for n in range(RECORDS_PAGE_SIZE + 2):
        share_promo(ads, [owner], minutes_ago=n)
    client.force_login(owner.user)
    first = client.get(RECEIVED)
    older = first.context["page"].older
    position = cursor_open(older)  # "<microseconds>.<id of the page's last record>"
    last_id = first.context["page"].rows[-1]["id"]
    assert position.endswith(f".{last_id}")
    sealed = base64.urlsafe_b64decode(older + "=" * (-len(older) % 4))
    assert position not in older and position.encode() not in sealed and f".{last_id}".encode() not in sealed
    assert f"older={older}" in first.content.decode()
    edited = older[:-3] + ("A" if older[-3] != "A" else "B") + older[-2:]
    shown = client.get(RECEIVED, {"older": edited}).context["page"].rows
    assert [r["id"] for r in shown] == [r["id"] for r in first.context["page"].rows]


@pytest.mark.parametrize("cursor", ["x", "12", "1.x", "-1.-1", "99999999999999999999.1", "1." + "9" * 40, "", "1.2.3"])
@pytest.mark.parametrize("direction", ["older", "newer"])
@pytest.mark.parametrize("sealed", [False, True], ids=["as-typed", "sealed"])  # sealed: what opens but does not parse
def test_a_bad_cursor_gives_the_first_page_not_an_error(client, owner, ads, cursor, direction, sealed):
    from accounts.keyset import cursor_seal

    share_promo(ads, [owner])
    client.force_login(owner.user)
    response = client.get(RECEIVED, {direction: cursor_seal(cursor) if sealed else cursor})
    assert response.status_code == 200 and len(response.context["page"].rows) == 1


def test_dashboard_says_more_than_the_cap_and_costs_the_same_past_it(client, owner, ads, settings):
    from sharing import selectors

    settings.PORTAL_FRAGMENT_SECONDS = 0  # both visits render the body (tests/accounts/test_kept_dashboard.py: kept)

    client.force_login(owner.user)
    client.get(reverse("portal:dashboard"))
    sharing_records_write(affiliate=ads, purpose=Purpose.objects.get(code="promotional-sharing"), fields=["email"],
                          client_ids=[owner.pk] * selectors.SUMMARY_COUNT_CAP, api_key=None, request_id=uuid.uuid4(),
                          at=timezone.now() - timedelta(days=1))
    page = client.get(reverse("portal:dashboard")).content.decode()
    assert "Your data was sent outside Fulfillmen 1000 times." in page and "more than" not in page
    with CaptureQueriesContext(connection) as at_cap:
        client.get(reverse("portal:dashboard"))
    share_promo(ads, [owner])
    with CaptureQueriesContext(connection) as past_cap:
        page = client.get(reverse("portal:dashboard")).content.decode()
    assert "Your data was sent outside Fulfillmen more than 1,000 times." in page
    assert len(past_cap) == len(at_cap)


def test_withheld_records_never_push_the_dashboard_past_the_cap(client, owner, ads):
    from sharing import selectors

    sharing_records_write(affiliate=ads, purpose=Purpose.objects.get(code="promotional-sharing"), fields=["email"],
                          client_ids=[owner.pk] * selectors.SUMMARY_COUNT_CAP, api_key=None, request_id=uuid.uuid4(),
                          at=timezone.now() - timedelta(days=1))
    sharing_records_write_to_recipient(recipient_name="Shenzhen Public Security Bureau", recipient_country="CN",
                                       purpose=Purpose.objects.get(code="legal-obligation"), fields=["name"],
                                       client_ids=[owner.pk] * 3, request_id=uuid.uuid4(), at=timezone.now(),
                                       withheld_until=timezone.localdate() + timedelta(days=30))
    client.force_login(owner.user)
    page = client.get(reverse("portal:dashboard")).content.decode()
    assert "Your data was sent outside Fulfillmen 1000 times." in page and "more than" not in page
    assert "Shenzhen" not in page


# The page's body is kept rendered while the data it shows is the same (sharing/received_page.py)

def _kept(owner):
    from django.core.cache import cache

    from accounts.page_fragments import fragment_key
    from sharing.received_page import FRAGMENT

    return cache.get(fragment_key(name=FRAGMENT, owner_id=owner.pk, language="en"))


def _main(response) -> str:
    page = response.content.decode()
    return page[page.index("<main"):page.index("</main>")]


def test_the_kept_body_shows_a_new_record_at_once(client, owner, ads, dropship):
    share_promo(ads, [owner], days_ago=1)
    client.force_login(owner.user)
    first = _main(client.get(RECEIVED))
    assert _kept(owner) is not None and _main(client.get(RECEIVED)) == first
    share_order(dropship, [owner])
    assert "Dropship Partner" in _main(client.get(RECEIVED))


def test_a_withheld_record_leaves_the_kept_body_untouched_and_shows_once_released(client, owner, ads):
    import time_machine

    share_promo(ads, [owner], days_ago=1)
    client.force_login(owner.user)
    before = _main(client.get(RECEIVED))
    kept = _kept(owner)
    until = timezone.localdate() + timedelta(days=30)
    sharing_records_write_to_recipient(recipient_name="Shenzhen Public Security Bureau", recipient_country="CN",
                                       purpose=Purpose.objects.get(code="legal-obligation"), fields=["name"],
                                       client_ids=[owner.pk], request_id=uuid.uuid4(), at=timezone.now(),
                                       withheld_until=until)
    assert _main(client.get(RECEIVED)) == before and _kept(owner) == kept  # not even rendered again
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        client.force_login(owner.user)
        assert "Shenzhen Public Security Bureau" in _main(client.get(RECEIVED))


def test_another_client_never_gets_the_kept_body(client, owner, outsider, ads):
    broker = make_affiliate("Owner Only Broker", country="SG")
    share_promo(broker, [owner])
    share_promo(ads, [outsider])
    client.force_login(owner.user)
    assert "Owner Only Broker" in _main(client.get(RECEIVED))
    client.force_login(outsider.user)
    assert "Owner Only Broker" not in _main(client.get(RECEIVED))


def test_an_erasure_forgets_the_kept_body(client, owner, ads, django_capture_on_commit_callbacks):
    from sharing.received_page import received_fragments_forget

    share_promo(ads, [owner])
    client.force_login(owner.user)
    client.get(RECEIVED)
    assert _kept(owner) is not None
    with django_capture_on_commit_callbacks(execute=True):
        received_fragments_forget(client=owner)
    assert _kept(owner) is None
