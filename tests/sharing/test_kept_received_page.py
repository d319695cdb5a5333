"""The first page of "Who received your data" is kept rendered (sharing/received_page.py) while its version — read
in one statement before any of the page's queries — stays the same: each kind of change shows on the very next
visit, a disclosure under a non-disclosure order changes nothing a client could notice, older pages are never kept,
another client never gets the owner's page."""

import re
import uuid
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from accounts.page_fragments import fragment_key
from consent.models import Channel, ConsentAction, Purpose
from consent.services import consent_record
from notify.models import OutboundMessage
from notify.services import message_deliver, message_queue
from sharing.models import Affiliate, ProcessorTally, WithdrawalNotice
from sharing.received_page import FRAGMENT, RECORDS_PAGE_SIZE
from sharing.services import sharing_records_write, sharing_records_write_to_recipient
from tests.kept_pages import kept_visit

from .conftest import recipient_purpose

pytestmark = pytest.mark.django_db
RECEIVED = reverse("sharing:received")


def visit(client, **params):
    return kept_visit(client, RECEIVED, params)


def kept(owner):
    return cache.get(fragment_key(name=FRAGMENT, owner_id=owner.pk, language="en"))


def promo():
    return Purpose.objects.get(code="promotional-sharing")


def share(owner, affiliate, *, minutes_ago=1):
    sharing_records_write(affiliate=affiliate, purpose=promo(), fields=["email"], client_ids=[owner.pk], api_key=None,
                          request_id=uuid.uuid4(), at=timezone.now() - timedelta(minutes=minutes_ago))


@pytest.fixture
def seen(client, owner, ads):
    """The owner, whose data went to Ads Network once, logged in; the page visited once (IP observation recorded)
    and kept by a second visit."""
    share(owner, ads)
    client.force_login(owner.user)
    visit(client)
    visit(client)
    return client


def test_a_second_visit_is_the_same_page_from_three_statements(seen, owner):
    first, _ = visit(seen)
    page, statements = visit(seen)
    assert page == first and "Ads Network" in page and kept(owner) is not None
    assert statements == 3  # session, user with client, the version


def test_a_withdrawal_notice_and_its_acknowledgement_show_at_once(seen, owner, ads):
    consent_record(client=owner, purpose=recipient_purpose(ads), action=ConsentAction.GRANT, channel=Channel.PORTAL)
    consent_record(client=owner, purpose=recipient_purpose(ads), action=ConsentAction.WITHDRAW, channel=Channel.PORTAL)
    assert WithdrawalNotice.objects.filter(client=owner, affiliate=ads).exists()
    assert "Being told of your withdrawal since" in visit(seen)[0]
    WithdrawalNotice.objects.filter(client=owner).update(acknowledged_at=timezone.now())  # behind the ORM's signals
    page = visit(seen)[0]
    assert "Told of your withdrawal on" in page and "Being told" not in page


def test_a_processors_record_and_a_tally_changed_behind_the_orm_show_at_once(seen, owner, mailoutbox):
    assert 'id="processors"' not in visit(seen)[0]
    with transaction.atomic():
        message = message_queue(channel="email", kind="dsr-reply", client=owner, to=owner.email, subject="About your request",
                                body="Hello.", idempotency_key="kept-received-1")
    assert message_deliver(message_id=message.pk) == OutboundMessage.Status.SENT
    page = visit(seen)[0]
    section = page[page.index('id="processors"'):]
    assert "Fulfillmen e-mail delivery provider" in section and "<td>1</td>" in section
    ProcessorTally.objects.filter(client=owner).update(times=F("times") + 4)
    page = visit(seen)[0]
    assert "<td>5</td>" in page[page.index('id="processors"'):]


def test_a_renamed_purpose_and_a_recipient_made_a_processor_show_at_once(seen, owner, ads):
    Purpose.objects.filter(pk=promo().pk).update(title_en="Partner promotions, renamed")
    assert "Partner promotions, renamed" in visit(seen)[0]
    Affiliate.objects.filter(pk=ads.pk).update(kind=Affiliate.Kind.PROCESSOR)  # listed apart from then on
    page = visit(seen)[0]
    assert "Ads Network" not in page and "Nobody outside Fulfillmen has received your data yet." in page


def test_a_withheld_disclosure_changes_nothing_not_even_the_statements_until_its_date(seen, owner):
    before, _ = visit(seen)
    stored = kept(owner)
    until = timezone.localdate() + timedelta(days=30)
    sharing_records_write_to_recipient(recipient_name="Shenzhen Public Security Bureau", recipient_country="CN",
                                       purpose=Purpose.objects.get(code="legal-obligation"), fields=["name"],
                                       client_ids=[owner.pk], request_id=uuid.uuid4(), at=timezone.now(),
                                       withheld_until=until)
    page, statements = visit(seen)
    assert page == before and statements == 3 and kept(owner) == stored, "neither shown nor rendered again"
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        seen.force_login(owner.user)
        assert "Shenzhen Public Security Bureau" in visit(seen)[0]


def test_older_pages_are_rendered_every_time_and_never_replace_the_kept_first_page(seen, owner, ads):
    for n in range(RECORDS_PAGE_SIZE + 2):
        share(owner, ads, minutes_ago=n + 2)
    first, _ = visit(seen)
    stored = kept(owner)
    older = re.search(r'href="\?older=([^"]+)" rel="next"', first).group(1)
    for _ in range(2):
        page, statements = visit(seen, older=older)
        assert statements > 3 and "Ads Network" in page and 'rel="prev"' in page
    assert kept(owner) == stored
    assert visit(seen) == (first, 3)


def test_another_client_never_gets_the_owners_kept_page(seen, client, owner, outsider):
    client.force_login(outsider.user)
    page = visit(client)[0]
    assert "Ads Network" not in page and "Nobody outside Fulfillmen has received your data yet." in page
