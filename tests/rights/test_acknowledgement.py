"""Issue #18.9: a request is acknowledged to the requester once, with what was received, when, the due date and how it
is verified (11 CCR §7021(a): within 10 business days; GDPR Art. 12(3)). The deadline counts from receipt; while the
requester's identity is verified it is paused where the law allows (never under the CCPA, §7021(b)), and each pause
is logged with its start and end and shown to staff."""

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from notify.models import OutboundMessage
from rights.deadlines import business_days_after
from rights.intake import request_acknowledge, request_clock_pause, request_identity_verified, request_record_by_staff
from rights.models import DataSubjectRequest, RequestClockPause
from rights.services import request_open, request_reference
from tests.conftest import make_client

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 10, 10, 0, tzinfo=SHANGHAI)  # a Tuesday
ADD = reverse("admin:rights_datasubjectrequest_add")
CHANGELIST = reverse("admin:rights_datasubjectrequest_changelist")
Status = DataSubjectRequest.Status


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


def change_url(dsr, step=None):
    if step:
        return reverse(f"admin:rights_datasubjectrequest_{step}", args=[dsr.pk])
    return reverse("admin:rights_datasubjectrequest_change", args=[dsr.pk])


def staff_form(**overrides):
    return {"kind": "access", "channel": "letter", "client": "", "requester_name": "Paper Person",
            "requester_email": "paper@example.com", "language": "", "details": "Send me my data.",
            "received_at": "2026-03-02T09:00", "_save": "Save", **overrides}


def mails_to(address):
    return [m for m in mail.outbox if m.to == [address]]


def test_request_entered_by_staff_is_acknowledged_to_the_client_with_its_due_date(
        client, support_agent, django_capture_on_commit_callbacks):
    client.force_login(support_agent)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(ADD, staff_form())

    dsr = DataSubjectRequest.objects.get()
    assert response.status_code == 302 and dsr.acknowledged_at is not None
    [ack] = mails_to("paper@example.com")
    assert request_reference(dsr) in ack.subject
    assert "March 2, 2026 (Letter): Access (see my data)" in ack.body            # what, when, how it came
    assert "April 1, 2026 at the latest" in ack.body                              # due 30 days from receipt
    assert "How we verify it:" in ack.body and "never ask for your password" in ack.body
    assert dsr.messages.filter(direction="out", delivery__kind="dsr-acknowledgement").count() == 1


def test_a_linked_client_is_acknowledged_in_their_language_at_their_account_address(
        client, support_agent, django_capture_on_commit_callbacks):
    zh = make_client("zh@example.com", country="CN", phone="+8613800138000", full_name="王芳", preferred_language="zh-hans")
    client.force_login(support_agent)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(ADD, staff_form(client=zh.pk, requester_name="", requester_email="", channel="phone"))
    [ack] = mails_to("zh@example.com")
    assert "我们已收到" in ack.subject or "收到" in ack.subject
    assert "王芳" in ack.body and "2026年4月1日" in ack.body  # CN: 30 days from 2 March


def test_a_requester_without_an_account_is_written_to_in_the_language_staff_chose(
        client, support_agent, django_capture_on_commit_callbacks):
    client.force_login(support_agent)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(ADD, staff_form(language="zh-hans"))
    [ack] = mails_to("paper@example.com")
    assert "2026年4月1日" in ack.body


def test_the_acknowledgement_is_sent_exactly_once(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        dsr = request_record_by_staff(kind="erasure", channel="email", requester_email="once@example.com",
                                      received_at=NOW - timedelta(days=1))
        assert request_acknowledge(request=dsr) is None
        assert request_acknowledge(request=DataSubjectRequest.objects.get(pk=dsr.pk)) is None
    assert len(mails_to("once@example.com")) == 1
    assert OutboundMessage.objects.filter(kind="dsr-acknowledgement").count() == 1


def test_staff_cannot_enter_a_request_as_if_it_came_from_the_portal():
    with pytest.raises(ValidationError, match="e-mail, letter or phone"):
        request_record_by_staff(kind="access", channel="portal", requester_email="x@example.com")
    assert not DataSubjectRequest.objects.exists()


def test_portal_and_public_requests_are_acknowledged_too(client, owner, django_capture_on_commit_callbacks):
    client.force_login(owner.user)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("rights:question_new"), {"subject": "Hi", "body": "Which data do you hold?"})
    question = DataSubjectRequest.objects.get()
    assert question.acknowledged_at is not None
    [ack] = mails_to(owner.email)
    assert "linked to your Fulfillmen account" in ack.body

    client.logout()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("rights:public_request_new"), {"name": "Pat", "email": "pat@example.com", "kind": "access",
                                                            "details": ""})
    [link] = mails_to("pat@example.com")
    assert "March 10, 2026" in link.body and "paused" in link.body  # receipt confirmed, and how it is verified
    token_path = "/" + re.search(r"https?://\S+/requests/verify/\S+/", link.body).group(0).split("/", 3)[3]
    with django_capture_on_commit_callbacks(execute=True):
        client.get(token_path)
    public = DataSubjectRequest.objects.get(channel="public-form")
    assert public.acknowledged_at is not None and len(mails_to("pat@example.com")) == 2


def test_deadline_counts_from_receipt_and_verification_pauses_it(client, privacy_officer,
                                                                 django_capture_on_commit_callbacks):
    dsr = request_record_by_staff(kind="access", channel="email", requester_email="asker@example.com",
                                  received_at=NOW - timedelta(days=5))
    assert dsr.due_on == date(2026, 4, 4)  # 30 days from receipt on 5 March, not from any verification
    client.force_login(privacy_officer)
    response = client.post(change_url(dsr, "pause"), {"note": "Asked for the order number and the account phone."})
    assert response.status_code == 302
    pause = RequestClockPause.objects.get(request=dsr)
    assert pause.ended_at is None and pause.moves_deadline

    with time_machine.travel(NOW + timedelta(days=4), tick=False):
        client.force_login(privacy_officer)  # a new day, a new session
        dsr.refresh_from_db()
        assert dsr.effective_due_on == date(2026, 4, 8)  # the running pause moves the due date day by day
        page = client.get(change_url(dsr)).content.decode()
        assert "Paused for verification since" in page and "Asked for the order number" in page
        queue = client.get(CHANGELIST, {"deadline": "paused"}).content.decode()
        assert request_reference(dsr) in queue
        with django_capture_on_commit_callbacks(execute=True):
            client.post(change_url(dsr, "resume"), {"note": "Order number and phone matched."})

    pause.refresh_from_db()
    dsr.refresh_from_db()
    assert pause.ended_at == NOW + timedelta(days=4) and pause.days_added == 4
    assert (dsr.due_on, dsr.clock_paused_since, dsr.effective_due_on) == (date(2026, 4, 8), None, date(2026, 4, 8))
    [told] = [m for m in mails_to("asker@example.com") if "identity verified" in m.subject]
    assert "April 8, 2026 at the latest" in told.body
    page = client.get(change_url(dsr)).content.decode()
    assert "Order number and phone matched." in page and "privacy@example.com" in page


def test_under_the_ccpa_verification_is_logged_but_does_not_move_the_deadline():
    californian = make_client("ca@example.com", country="US", region="US-CA", phone="+1 415 555 2671")
    dsr = request_record_by_staff(kind="access", channel="phone", client=californian, received_at=NOW)
    due = dsr.due_on
    pause = request_clock_pause(request=dsr, reason=RequestClockPause.Reason.IDENTITY_VERIFICATION, note="Asked ID")
    with time_machine.travel(NOW + timedelta(days=10), tick=False):
        dsr = request_identity_verified(request=dsr, note="Matched", actor=None)
    pause.refresh_from_db()
    assert not pause.moves_deadline and pause.days_added == 0 and pause.ended_at is not None
    assert dsr.due_on == due == date(2026, 4, 24)  # 45 days from receipt, whatever verification took


def test_a_public_request_is_paused_from_receipt_until_the_address_is_confirmed(client,
                                                                             django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("rights:public_request_new"), {"name": "Pat", "email": "pat@example.com", "kind": "access",
                                                            "details": ""})
    dsr = DataSubjectRequest.objects.get()
    [pause] = dsr.pauses.all()
    assert (pause.reason, pause.started_at, pause.ended_at) == ("email", dsr.received_at, None)
    assert dsr.clock_paused_since == dsr.received_at


def test_the_queue_marks_an_acknowledgement_overdue_after_ten_business_days(client, support_agent):
    late = request_open(kind="access", channel="letter", requester_email="late@example.com",
                        received_at=NOW - timedelta(days=15))   # 23 Feb: ten business days ended on 9 March
    fresh = request_open(kind="access", channel="letter", requester_email="fresh@example.com",
                         received_at=NOW - timedelta(days=2))
    acknowledged = request_record_by_staff(kind="access", channel="letter", requester_email="ok@example.com",
                                           received_at=NOW - timedelta(days=20))
    assert business_days_after(date(2026, 2, 23), 10) == date(2026, 3, 9)
    client.force_login(support_agent)

    page = client.get(CHANGELIST).content.decode()
    assert page.count("Acknowledgement overdue</strong>") == 1
    overdue = client.get(CHANGELIST, {"deadline": "ack-overdue"}).content.decode()
    assert request_reference(late) in overdue
    assert request_reference(fresh) not in overdue and request_reference(acknowledged) not in overdue
    record = client.get(change_url(late)).content.decode()
    assert "Not yet (required by March 9, 2026" in record


def test_a_paused_request_is_neither_overdue_nor_extendable_until_verified(client, privacy_officer):
    dsr = request_record_by_staff(kind="access", channel="email", requester_email="p@example.com",
                                  received_at=NOW - timedelta(days=29))
    request_clock_pause(request=dsr, reason=RequestClockPause.Reason.IDENTITY_VERIFICATION, note="Asked")
    client.force_login(privacy_officer)
    with time_machine.travel(NOW + timedelta(days=3), tick=False):
        client.force_login(privacy_officer)
        assert request_reference(dsr) not in client.get(CHANGELIST, {"deadline": "overdue"}).content.decode()
        extend = client.post(change_url(dsr, "extend"), {"until": "2026-05-01", "reason": "Complex"})
        assert extend.status_code == 302  # the step is not offered while paused
        dsr.refresh_from_db()
        assert dsr.extended_to is None


def test_a_pause_needs_what_was_asked_and_cannot_start_twice_or_after_the_due_date(client, privacy_officer):
    dsr = request_record_by_staff(kind="access", channel="email", requester_email="p@example.com", received_at=NOW)
    client.force_login(privacy_officer)
    empty = client.post(change_url(dsr, "pause"), {"note": ""})
    assert empty.status_code == 400 and not RequestClockPause.objects.exists()
    request_clock_pause(request=dsr, reason=RequestClockPause.Reason.IDENTITY_VERIFICATION, note="Asked")
    with pytest.raises(ValidationError, match="already paused"):
        request_clock_pause(request=dsr, reason=RequestClockPause.Reason.IDENTITY_VERIFICATION, note="Again")
    old = request_record_by_staff(kind="access", channel="email", requester_email="o@example.com",
                                  received_at=NOW - timedelta(days=40))
    with pytest.raises(ValidationError, match="has passed"):
        request_clock_pause(request=old, reason=RequestClockPause.Reason.IDENTITY_VERIFICATION, note="Too late")


def test_only_staff_who_work_requests_may_pause_or_restart_a_deadline(client, owner, outsider):
    from accounts.services import staff_user_ensure
    from tests.conftest import PASSWORD

    legal = staff_user_ensure(email="legal@example.com", password=PASSWORD, groups=["Legal"])
    dsr = request_record_by_staff(kind="access", channel="email", client=owner, received_at=NOW)
    for step in ("pause", "resume"):
        client.logout()
        anonymous = client.post(change_url(dsr, step), {"note": "Asked"})
        assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("admin:login"))
        for who in (owner.user, outsider.user):
            client.force_login(who)
            refused = client.post(change_url(dsr, step), {"note": "Asked"})
            assert refused.status_code == 302 and refused["Location"].startswith(reverse("admin:login"))
        client.force_login(legal)  # reads requests, does not work them
        assert client.post(change_url(dsr, step), {"note": "Asked"}).status_code == 403
    assert not RequestClockPause.objects.exists()
