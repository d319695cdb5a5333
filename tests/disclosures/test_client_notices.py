"""What the client learns of a disclosure, and when: at once, or on the day a non-disclosure requirement ends."""

from datetime import date

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.urls import reverse

from disclosures.services import disclosure_approve, disclosure_mark_disclosed, disclosure_record, disclosure_submit_for_review
from disclosures.tasks import reveal_withheld_disclosures
from notify.models import OutboundMessage
from tests.conftest import make_client

pytestmark = pytest.mark.django_db
RECEIVED = reverse("sharing:received")


def disclose(by, reviewer, client, *, withhold_until=None, withhold_reference=""):
    disclosure = disclosure_record(recorded_by=by, clients=[client], authority_name="Shenzhen Public Security Bureau",
                                   authority_country="CN", authority_kind="police", request_type="warrant",
                                   reference_number="SZ-2026-0042", received_on=date(2026, 11, 20),
                                   categories_requested=["name", "phone"], withhold_until=withhold_until,
                                   withhold_reference=withhold_reference)
    disclosure = disclosure_submit_for_review(disclosure=disclosure, actor=by)
    disclosure = disclosure_approve(disclosure=disclosure, reviewer=reviewer, reason="Valid warrant")
    return disclosure_mark_disclosed(disclosure=disclosure, actor=reviewer, disclosed={client.pk: ["name", "phone"]})


def test_without_a_non_disclosure_requirement_the_client_is_emailed_when_the_data_is_disclosed(
        client, legal, legal2, django_capture_on_commit_callbacks):
    owner = make_client()
    with django_capture_on_commit_callbacks(execute=True):
        disclose(legal, legal2, owner)
    [message] = mail.outbox
    assert message.to == ["owner@example.com"]
    assert "Shenzhen Public Security Bureau" in message.subject
    assert "name, phone" in message.body and "Warrant" in message.body
    client.force_login(owner.user)
    assert "Shenzhen Public Security Bureau" in client.get(RECEIVED).content.decode()


@time_machine.travel("2026-11-25 09:00 +0800", tick=False)
def test_a_withheld_disclosure_stays_hidden_until_the_date_then_the_beat_task_reveals_it_and_emails_once(
        client, legal, legal2, django_capture_on_commit_callbacks):
    owner = make_client()
    with django_capture_on_commit_callbacks(execute=True):
        disclose(legal, legal2, owner, withhold_until=date(2027, 1, 15), withhold_reference="Court gag order 2026/881")
    client.force_login(owner.user)
    assert mail.outbox == []
    assert "Shenzhen" not in client.get(RECEIVED).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        assert reveal_withheld_disclosures.delay().get() == 0
    assert mail.outbox == [] and "Shenzhen" not in client.get(RECEIVED).content.decode()

    with time_machine.travel("2027-01-15 00:30 +0800", tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert reveal_withheld_disclosures.delay().get() == 1
        client.force_login(owner.user)  # the earlier session has expired by now
        assert "Shenzhen Public Security Bureau" in client.get(RECEIVED).content.decode()
        with django_capture_on_commit_callbacks(execute=True):
            assert reveal_withheld_disclosures.delay().get() == 0
    [message] = mail.outbox
    assert message.to == ["owner@example.com"] and "Shenzhen Public Security Bureau" in message.subject
    assert OutboundMessage.objects.filter(kind="disclosure-notice", client=owner).count() == 1


def test_the_reveal_task_runs_on_the_beat_schedule():
    schedule = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "disclosures.tasks.reveal_withheld_disclosures" in schedule


def test_a_rejected_or_undisclosed_client_gets_no_notice(legal, legal2, django_capture_on_commit_callbacks):
    owner, other = make_client(), make_client("other@example.com", phone="+49 151 23456780")
    disclosure = disclosure_record(recorded_by=legal, clients=[owner, other], authority_name="Court",
                                   authority_country="CN", authority_kind="court", request_type="court-order",
                                   reference_number="C-1", received_on=date(2026, 11, 20), categories_requested=["name"])
    disclosure = disclosure_approve(disclosure=disclosure_submit_for_review(disclosure=disclosure, actor=legal),
                                    reviewer=legal2, reason="ok")
    with django_capture_on_commit_callbacks(execute=True):
        disclosure_mark_disclosed(disclosure=disclosure, actor=legal2, disclosed={owner.pk: ["name"]})
    assert [m.to for m in mail.outbox] == [["owner@example.com"]]
