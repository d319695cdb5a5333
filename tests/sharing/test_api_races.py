"""A withdrawal racing an affiliate's page, on real parallel PostgreSQL transactions."""

import threading
import time
import uuid

import pytest
from django.db import transaction
from django.utils import timezone

from consent.models import Channel, ConsentAction, ConsentState, Purpose
from consent.services import consent_record
from sharing.models import WithdrawalNotice
from sharing.pages import client_page_share
from sharing.selectors import agreement_in_force
from tests.conftest import make_client
from tests.threads import run_in_parallel

from .conftest import make_affiliate

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_withdrawal_during_a_page_waits_for_it_and_then_tells_the_affiliate():
    ads = make_affiliate("Ads Network")
    ca = make_client("ca@example.com", country="US", region="US-CA", phone="+14155552671")
    promo = Purpose.objects.get(code="promotional-sharing")
    page_read, withdrawal_started, finished = threading.Event(), threading.Event(), {}

    def affiliate_page():
        agreement = agreement_in_force(affiliate=ads, purpose_code="promotional-sharing")
        with transaction.atomic():
            page = client_page_share(affiliate=ads, agreement=agreement, api_key=None, request_id=uuid.uuid4(),
                                     at=timezone.now())
            page_read.set()
            withdrawal_started.wait(10)
            time.sleep(0.5)  # the withdrawal is now waiting on our lock
            finished["page"] = time.monotonic()
        finished["sent"] = page.client_ids

    def withdrawal():
        page_read.wait(10)
        withdrawal_started.set()
        consent_record(client=ca, purpose=promo, action=ConsentAction.WITHDRAW, channel=Channel.PORTAL)
        finished["withdrawal"] = time.monotonic()

    run_in_parallel([affiliate_page, withdrawal], together=False)
    assert finished["sent"] == [ca.pk]
    assert finished["withdrawal"] > finished["page"], "the withdrawal did not wait for the page's records"
    assert WithdrawalNotice.objects.filter(affiliate=ads, client=ca, purpose=promo).count() == 1
    assert ConsentState.objects.get(client=ca, purpose=promo).granted is False
