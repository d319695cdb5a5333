"""The client's "Who received your data" says, per recipient, when it confirmed it was told of the client's withdrawal,
correction or erasure (a webhook answered 2xx, or the withdrawal feed's acknowledgement), and since when it is being
told while it has not. A disclosure to an authority is never a notice: nothing about it changes."""

import re
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import formats, timezone

from consent.models import Channel, ConsentAction, Purpose
from consent.services import consent_record
from sharing.models import WithdrawalNotice
from sharing.services import (
    rectified_notices_create,
    sharing_records_write,
    sharing_records_write_to_recipient,
    withdrawals_acknowledge,
)
from tests.conftest import make_client
from tests.sharing.conftest import make_affiliate, recipient_purpose

from .helpers import client_held_by, recipient_with_endpoint, withdraw

pytestmark = pytest.mark.django_db

RECEIVED = reverse("sharing:received")


def also_held_by(client, affiliate, *, fields=("email",)):
    """The same client consenting to one more recipient, which received its data."""
    purpose = recipient_purpose(affiliate)
    consent_record(client=client, purpose=purpose, action=ConsentAction.GRANT, channel=Channel.PORTAL)
    sharing_records_write(affiliate=affiliate, purpose=purpose.parent, fields=list(fields), client_ids=[client.pk],
                          api_key=None, request_id=uuid.uuid4(), at=timezone.now() - timedelta(minutes=1))


def same_page(response) -> str:
    page = response.content.decode()
    return re.sub(r'(nonce|value)="[A-Za-z0-9+/=_-]{20,}"', "", page)


def day(moment) -> str:
    return formats.date_format(timezone.localtime(moment), "DATE_FORMAT")


def told_lines(response) -> dict[str, list[str]]:
    return {g.recipient_name: [t.text for t in g.told] for g in response.context["groups"]}


def test_a_withdrawal_the_recipients_webhook_confirmed_reads_told_of_your_withdrawal_on_that_day(
        client, receiver, private_networks, django_capture_on_commit_callbacks):
    affiliate, _endpoint, _secret = recipient_with_endpoint(receiver.url)
    held = client_held_by(affiliate)
    with django_capture_on_commit_callbacks(execute=True):
        withdraw(held, affiliate)
    notice = WithdrawalNotice.objects.get(client=held)
    assert notice.acknowledged_at is not None  # the 2xx
    client.force_login(held.user)
    response = client.get(RECEIVED)
    line = f"Told of your withdrawal on {day(notice.acknowledged_at)}"
    assert told_lines(response) == {"Ads Network": [line]}
    local = timezone.localtime(notice.acknowledged_at)
    assert f'<time datetime="{local.isoformat()}">{line}</time>' in response.content.decode()


def test_a_notice_not_yet_confirmed_reads_being_told_since_until_the_feed_acknowledges_it(client):
    affiliate = make_affiliate("Ads Network")  # no endpoint: told by the withdrawal feed only
    held = client_held_by(affiliate)
    withdraw(held, affiliate)
    notice = WithdrawalNotice.objects.get(client=held)
    client.force_login(held.user)
    assert told_lines(client.get(RECEIVED)) == {"Ads Network": [f"Being told of your withdrawal since {day(notice.occurred_at)}"]}
    later = timezone.now() + timedelta(days=2)
    withdrawals_acknowledge(affiliate=affiliate, notice_ids=[notice.public_id], at=later)
    assert told_lines(client.get(RECEIVED)) == {"Ads Network": [f"Told of your withdrawal on {day(later)}"]}


def test_each_kind_of_notice_shows_its_newest_and_only_for_the_recipient_and_client_it_is_about(client):
    ads, broker = make_affiliate("Ads Network"), make_affiliate("Data Broker", country="SG")
    held = client_held_by(ads)
    also_held_by(held, broker)
    other = client_held_by(ads, email="other-held@example.com")
    now = timezone.now()
    rectified_notices_create(client=held, categories={"email"}, at=now - timedelta(days=3))
    rectified_notices_create(client=held, categories={"email"}, at=now - timedelta(days=1))
    rectified_notices_create(client=other, categories={"email"}, at=now)
    withdraw(held, ads)
    newest = WithdrawalNotice.objects.filter(client=held, affiliate=ads, reason="rectified").latest("occurred_at")
    withdrawals_acknowledge(affiliate=ads, notice_ids=[newest.public_id], at=now)
    withdrawal = WithdrawalNotice.objects.get(client=held, reason="consent-withdrawn")
    client.force_login(held.user)
    assert told_lines(client.get(RECEIVED)) == {
        "Ads Network": [f"Being told of your withdrawal since {day(withdrawal.occurred_at)}",
                        f"Told of your correction on {day(now)}"],
        "Data Broker": [f"Being told of your correction since {day(now - timedelta(days=1))}"]}
    client.force_login(other.user)
    assert told_lines(client.get(RECEIVED)) == {"Ads Network": [f"Being told of your correction since {day(now)}"]}


def test_an_erasure_an_ended_agreement_and_ended_orders_are_worded_by_reason(client):
    from sharing.views import NOTICE_KIND, TOLD_TEXT, _told

    assert set(NOTICE_KIND) == set(WithdrawalNotice.Reason.values)
    at = timezone.now()
    for reason, expected in [("erasure", "Told of your erasure on"), ("gpc", "Told of your withdrawal on"),
                             ("agreement-ended", "Told to delete your data, as its agreement with us ended, on"),
                             ("engagement-ended", "Told to delete your data, as your orders with it ended, on")]:
        told = _told({"reason": reason, "acknowledged_at": at, "occurred_at": at}, "Y-m-d")
        assert told.text == f"{expected} {at.astimezone(timezone.get_current_timezone()):%Y-%m-%d}"
    assert all(len(pair) == 2 for pair in TOLD_TEXT.values())


def test_the_lines_are_in_chinese_for_a_chinese_page(client):
    affiliate = make_affiliate("Ads Network")
    held = client_held_by(affiliate)
    withdraw(held, affiliate)
    client.force_login(held.user)
    page = client.get(RECEIVED, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "已告知的变更" in page and "起正在告知您的撤回" in page
    assert "Being told" not in page


def test_a_disclosure_to_an_authority_withheld_or_released_gets_no_line_and_costs_no_query(client):
    affiliate = make_affiliate("Ads Network")
    held = client_held_by(affiliate)
    withdraw(held, affiliate)
    client.force_login(held.user)
    before = client.get(RECEIVED)
    legal_obligation = Purpose.objects.get(code="legal-obligation")
    for withheld_until in (timezone.localdate() + timedelta(days=30), None):
        sharing_records_write_to_recipient(recipient_name="Shenzhen Public Security Bureau", recipient_country="CN",
                                           purpose=legal_obligation, fields=["name"], client_ids=[held.pk],
                                           request_id=uuid.uuid4(), at=timezone.now(), withheld_until=withheld_until)
        response = client.get(RECEIVED)
        if withheld_until:  # the page is as it was, to the byte (but for its per-response tokens): not even rendered
            assert same_page(response) == same_page(before) and "Shenzhen" not in response.content.decode()
            assert "groups" not in response.context and told_lines(before)
    released = {g.recipient_name: g for g in response.context["groups"]}["Shenzhen Public Security Bureau"]
    assert released.affiliate_id is None and released.told == []
    assert "Told of your changes" in response.content.decode()  # the affiliate's line, not the authority's
    assert response.content.decode().count("Told of your changes") == 1


def test_the_lines_cost_one_query_for_the_page_and_none_without_a_recipient(client, settings):
    settings.PORTAL_FRAGMENT_SECONDS = 0  # the page rendered every time: what its rendering costs is measured

    def queries(user):
        client.force_login(user)
        client.get(RECEIVED)  # the first visit records the IP observation
        with CaptureQueriesContext(connection) as context:
            assert client.get(RECEIVED).status_code == 200
        return len([q for q in context.captured_queries if "sharing_withdrawalnotice" in q["sql"]]), len(context)

    recipients = [make_affiliate(name) for name in ("Ads Network", "Data Broker", "Print Shop")]
    few = client_held_by(recipients[0], email="few@example.com")
    withdraw(few, recipients[0])
    many = client_held_by(recipients[0], email="many@example.com")
    for affiliate in recipients[1:]:
        also_held_by(many, affiliate)
    for affiliate in recipients:
        withdraw(many, affiliate)
    rectified_notices_create(client=many, categories={"email"}, at=timezone.now())
    assert WithdrawalNotice.objects.filter(client=many).count() == 6
    assert queries(few.user) == queries(many.user) and queries(few.user)[0] == 1

    authority_only = make_client("authority-only@example.com")
    sharing_records_write_to_recipient(recipient_name="Shenzhen Public Security Bureau", recipient_country="CN",
                                       purpose=Purpose.objects.get(code="legal-obligation"), fields=["name"],
                                       client_ids=[authority_only.pk], request_id=uuid.uuid4(), at=timezone.now())
    assert queries(authority_only.user)[0] == 0
