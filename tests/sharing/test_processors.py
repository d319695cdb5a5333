"""Processors recorded (issue #18, item 8): the e-mail and SMS providers are recipients in the catalogue, each message
sent to a client leaves the sharing record that its address went to that provider, and the client sees them as
"Processors" in "Who received your data"."""

from datetime import date, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.services import staff_user_ensure
from amendments.marks import SentMarks
from amendments.models import NoticeDelivery
from amendments.notices import _claim, notices_recover, notices_send
from amendments.services import notice_period, policy_draft_save, policy_publish
from disclosures.services import disclosure_approve, disclosure_mark_disclosed, disclosure_record, disclosure_submit_for_review
from disclosures.tasks import reveal_withheld_disclosures
from notify import sms
from notify.models import OutboundMessage
from notify.services import message_deliver, message_queue
from rights.inventory import CATEGORIES
from sharing.models import Affiliate, ApiKey, SharingRecord
from sharing.processors import message_purpose
from sharing.selectors import sharing_rows_of_client
from sharing.services import affiliate_key_create
from sharing.views import recipient_groups
from tests.conftest import PASSWORD, make_client

from .conftest import bearer, make_affiliate

pytestmark = pytest.mark.django_db

RECEIVED = reverse("sharing:received")
EMAIL_PROCESSOR, SMS_PROCESSOR = "Fulfillmen e-mail delivery provider", "Fulfillmen SMS delivery provider"


def send_email(client, *, kind="dsr-reply", body=None, key="m-1"):
    """A message queued in a business transaction and sent on commit, as every e-mail of the portal is."""
    with transaction.atomic():
        message = message_queue(channel="email", kind=kind, client=client, to=client.email if client else "x@example.com",
                                subject="About your request", body=body if body is not None else "Hello.",
                                idempotency_key=key)
    assert message_deliver(message_id=message.pk) == OutboundMessage.Status.SENT
    return message


def records(client):
    return list(SharingRecord.objects.filter(client=client).select_related("affiliate", "purpose").order_by("pk"))


def test_each_email_sent_leaves_a_sharing_record_to_the_email_processor(owner, mailoutbox):
    send_email(owner, body=f"Hello {owner.full_name}, here is our answer.")
    [record] = records(owner)
    assert (record.affiliate.name, record.affiliate.kind, record.recipient_country) == (
        EMAIL_PROCESSOR, Affiliate.Kind.PROCESSOR, "CN")
    assert record.purpose.code == "legal-obligation"  # answering a rights request is a legal duty
    assert record.fields == ["email", "name"]  # the body greets the client by name: the provider received it
    assert record.api_key is None and record.withheld_until is None and len(mailoutbox) == 1
    assert message_deliver(message_id=OutboundMessage.objects.get().pk) == "sent"  # a duplicate task sends nothing
    assert len(records(owner)) == 1


def test_a_message_that_does_not_name_the_client_records_the_address_only(owner, mailoutbox):
    send_email(owner, kind="password-reset", body="Follow this link to choose a new password.")
    [record] = records(owner)
    assert (record.fields, record.purpose.code) == (["email"], "identification")


def test_a_message_to_no_client_or_never_sent_leaves_no_record(owner, settings, mailoutbox):
    send_email(None, kind="dsr-verify-email", key="public")  # a public requester without a client: nobody's record
    settings.SMS_URL = "twilio://AC1:t@127.0.0.1:9?from=%2B15005550006&scheme=http"  # nothing listens: not sent
    with transaction.atomic():
        message = message_queue(channel="sms", kind="breach-notice", client=owner, to=owner.phone, body="Hi", idempotency_key="s")
    assert message_deliver(message_id=message.pk) == OutboundMessage.Status.QUEUED
    assert not SharingRecord.objects.exists()


def test_the_configured_processor_is_the_one_named(owner, settings, mailoutbox):
    other = Affiliate.objects.create(name="Mailgun Technologies", kind=Affiliate.Kind.PROCESSOR, country="US",
                                     contact_name="DPO", contact_email="dpo@mailgun.example")
    settings.EMAIL_PROCESSOR = other.name
    send_email(owner)
    assert [(r.affiliate, r.recipient_country) for r in records(owner)] == [(other, "US")]


def draft(label="2.0"):
    return policy_draft_save(label=label, body_en=f"# Policy {label}\n\nChanged.", summary="Clearer.",
                             summary_zh_hans="更清楚。")


def after_notice():
    """A day after the notice a change that is not material needs (POLICY_MINOR_NOTICE_DAYS)."""
    return timezone.now() + notice_period(material=False) + timedelta(days=1)


def test_each_policy_notice_sent_leaves_a_record_per_client_and_channel_without_n_plus_1(settings, mailoutbox):
    settings.SMS_URL = "memory:"
    sms.outbox.clear()
    few = [make_client(f"a{n}@example.com") for n in range(2)] + [make_client("nophone@example.com", phone="")]
    version = policy_publish(version=draft(), effective_at=after_notice())
    with CaptureQueriesContext(connection) as small:
        assert notices_send(version_id=version.pk)["sent"] == 5
    got = {(r.client_id, r.recipient_name, tuple(r.fields), r.purpose.code)
           for r in SharingRecord.objects.select_related("purpose")}
    assert got == {*((c.pk, EMAIL_PROCESSOR, ("email",), "service-updates") for c in few),
                   *((c.pk, SMS_PROCESSOR, ("phone",), "service-updates") for c in few[:2])}  # no SMS without a phone
    many = [make_client(f"b{n}@example.com") for n in range(30)]
    version = policy_publish(version=draft("3.0"), effective_at=after_notice())
    with CaptureQueriesContext(connection) as large:
        assert notices_send(version_id=version.pk)["sent"] == 2 * 30 + 2 * 2 + 1
    assert len(large) == len(small)  # a chunk records its messages in one statement, not one per message
    assert SharingRecord.objects.filter(client__in=many).count() == 60


def test_notices_a_dead_worker_left_are_recorded_once_when_the_sweeper_marks_them_sent(settings):
    settings.SMS_URL = "memory:"
    owner = make_client()
    version = policy_publish(version=draft(), effective_at=after_notice())
    import uuid

    rows = _claim(version_id=version.pk, kind="notice", token=uuid.uuid4(), size=10)
    marks = SentMarks()
    for delivery_id, *_rest in rows:  # the provider accepted both, then the worker died before the database update
        marks.add(version.pk, delivery_id)
    NoticeDelivery.objects.update(claimed_at=timezone.now() - timedelta(hours=1))
    assert notices_recover()["sent"] == 2
    assert sorted(r.recipient_name for r in records(owner)) == sorted([EMAIL_PROCESSOR, SMS_PROCESSOR])
    assert notices_recover()["sent"] == 0 and len(records(owner)) == 2


def test_without_redis_each_notice_is_recorded_as_it_is_marked_sent(settings, mailoutbox):
    settings.SMS_URL, settings.REDIS_URL = "memory:", ""
    owner = make_client()
    version = policy_publish(version=draft(), effective_at=after_notice())
    assert notices_send(version_id=version.pk)["sent"] == 2
    assert sorted(r.recipient_name for r in records(owner)) == sorted([EMAIL_PROCESSOR, SMS_PROCESSOR])


@pytest.mark.parametrize("kind, purpose", [
    ("consent-receipt", "legal-obligation"), ("dsr-acknowledgement", "legal-obligation"),
    ("erasure-done", "legal-obligation"), ("disclosure-notice", "legal-obligation"),
    ("password-reset", "identification"), ("email-change-confirm", "identification"),
    ("policy-notice", "service-updates"), ("policy-reminder", "service-updates"),
    ("something-new", "customer-service"),
])
def test_each_kind_of_message_serves_a_purpose_of_the_catalogue(kind, purpose):
    assert message_purpose(kind) == purpose


def test_client_sees_processors_in_who_received_my_data(client, owner, outsider, mailoutbox):
    send_email(owner, body=f"Dear {owner.full_name}")
    client.force_login(owner.user)
    page = client.get(RECEIVED).content.decode()
    section = page[page.index('id="processors"'):]
    assert "Processors" in section and EMAIL_PROCESSOR in section and "China" in section
    assert "Name, Email address" in section and "Legal obligations and lawful requests" in section
    assert "No company has received your data other than the processors below" in page
    chinese = client.get(RECEIVED, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "受托处理者" in chinese and "中国" in chinese
    client.force_login(outsider.user)  # the outsider sees nothing of the owner's
    other = client.get(RECEIVED).content.decode()
    assert EMAIL_PROCESSOR not in other and 'id="processors"' not in other


def test_processors_are_listed_apart_never_among_the_companies_that_received_data(owner, mailoutbox):
    ads = make_affiliate("Ads Network")
    from consent.models import Purpose
    from sharing.services import sharing_records_write

    sharing_records_write(affiliate=ads, purpose=Purpose.objects.get(code="promotional-sharing"), fields=["email"],
                          client_ids=[owner.pk], api_key=None, request_id=None, at=timezone.now())
    send_email(owner)
    assert [g.recipient_name for g in recipient_groups(sharing_rows_of_client(client=owner))] == ["Ads Network"]
    [category] = [c for c in CATEGORIES if c.code == "sharing_records"]
    kinds = {row["recipient"]: row["recipient_kind"] for row in map(category.row, category.read(owner))}
    assert kinds == {"Ads Network": "Affiliated company", EMAIL_PROCESSOR: "Processor"}


def test_a_processor_never_gets_an_api_key_for_a_client_feed(client):
    processor = Affiliate.objects.get(name=EMAIL_PROCESSOR)
    with pytest.raises(ValidationError, match="processor"):
        affiliate_key_create(affiliate=processor)
    with pytest.raises(CommandError, match="is a processor"):
        call_command("create_affiliate_key", EMAIL_PROCESSOR)
    assert not ApiKey.objects.filter(affiliate=processor).exists()
    # A key made before the affiliate became a processor is refused from then on.
    former = Affiliate.objects.create(name="Former Co", kind=Affiliate.Kind.AFFILIATED_COMPANY, country="HK",
                                      contact_name="C", contact_email="c@former.example")
    key = affiliate_key_create(affiliate=former)[1]
    Affiliate.objects.filter(pk=former.pk).update(kind=Affiliate.Kind.PROCESSOR)
    response = client.get("/api/v1/agreement/", **bearer(key))
    assert response.status_code == 401 and response.json()["error"]["code"] == "processor_key"


@time_machine.travel("2026-11-25 09:00 +0800", tick=False)
def test_a_gagged_disclosure_sends_no_email_so_no_processor_record_reveals_it_until_released(
        client, django_capture_on_commit_callbacks, mailoutbox):
    owner = make_client()
    legal = staff_user_ensure(email="legal@example.com", password=PASSWORD, groups=["Legal"])
    legal2 = staff_user_ensure(email="legal2@example.com", password=PASSWORD, groups=["Legal"])
    with django_capture_on_commit_callbacks(execute=True):
        disclosure = disclosure_record(recorded_by=legal, clients=[owner], authority_name="Shenzhen PSB",
                                       authority_country="CN", authority_kind="police", request_type="warrant",
                                       reference_number="SZ-1", received_on=date(2026, 11, 20), categories_requested=["name"],
                                       withhold_until=date(2027, 1, 15), withhold_reference="Gag order 1")
        disclosure = disclosure_submit_for_review(disclosure=disclosure, actor=legal)
        disclosure = disclosure_approve(disclosure=disclosure, reviewer=legal2, reason="Valid")
        disclosure_mark_disclosed(disclosure=disclosure, actor=legal2, disclosed={owner.pk: ["name"]})
    assert mailoutbox == []
    assert not SharingRecord.objects.filter(client=owner, affiliate__kind=Affiliate.Kind.PROCESSOR).exists()
    client.force_login(owner.user)
    assert 'id="processors"' not in client.get(RECEIVED).content.decode()
    with time_machine.travel("2027-01-15 00:30 +0800", tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert reveal_withheld_disclosures.delay().get() == 1
        [record] = SharingRecord.objects.filter(client=owner, affiliate__kind=Affiliate.Kind.PROCESSOR)
        assert (record.purpose.code, record.withheld_until, record.shared_at.date()) == (
            "legal-obligation", None, date(2027, 1, 14))  # the released notice, on the day it was sent (UTC)


def test_a_processor_is_sent_no_withdrawal_notice_its_processor_agreement_governs_deletion(owner, mailoutbox):
    from sharing.models import WithdrawalNotice
    from sharing.services import rectified_notices_create, withdrawal_notices_for_erasure

    send_email(owner, body=f"Dear {owner.full_name}")
    assert withdrawal_notices_for_erasure(client=owner, at=timezone.now()) == 0
    assert rectified_notices_create(client=owner, categories={"email", "name"}, at=timezone.now()) == 0
    assert not WithdrawalNotice.objects.exists()  # nothing would wait, overdue for ever, for a key it cannot have
