"""A dormant account is never erased by surprise: its client is e-mailed RETENTION_DORMANT_WARNING_DAYS before, once
per dormancy, in their language, with the true date; the erasure waits for that date, and logging in keeps the
account. A held client is neither warned nor erased. The dry run counts the warnings and sends nothing."""

from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.test import Client as Browser
from django.urls import reverse
from django.utils import formats, timezone, translation

from accounts.models import Client, Language
from notify.models import OutboundMessage
from rights.models import RetentionRun
from rights.retention.dormancy import WARNING_KIND
from rights.services import legal_hold_release, legal_hold_set
from tests.conftest import PASSWORD
from tests.rights.dormancy import warn_dormant
from tests.rights.test_retention import database_snapshot, dormant_client, run

pytestmark = pytest.mark.django_db


def local_moment(day, at=time(0, 1)):
    return timezone.make_aware(datetime.combine(day, at))


def warnings_of(client):
    return OutboundMessage.objects.filter(client=client, kind=WARNING_KIND)


def erased(client) -> bool:
    return Client.objects.get(pk=client.pk).erased_at is not None


def test_dormant_client_is_warned_once_thirty_days_before_erasure_in_their_language(
        settings, django_capture_on_commit_callbacks):
    settings.SITE_URL = "https://privacy.fulfillmen.example"
    chinese = dormant_client("sleeper@example.com", language=Language.ZH_HANS)
    english = dormant_client("dormant@example.com")
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        outcomes = run()

    assert (outcomes["dormant_warnings"].done, outcomes["dormant_accounts"].done) == (2, 0)
    assert not erased(chinese) and not erased(english)  # warned first, erased at the earliest 30 days later
    emails = {m.to[0]: m for m in mail.outbox}
    assert set(emails) == {"sleeper@example.com", "dormant@example.com"}
    erase_on = timezone.localdate() + timedelta(days=30)

    with translation.override("zh-hans"):
        zh_date = formats.date_format(erase_on, "DATE_FORMAT")
    zh = emails["sleeper@example.com"]
    assert zh.subject == f"请在 {zh_date} 之前登录，以保留您的 Fulfillmen 账户"
    assert f"如果您在 {zh_date} (Asia/Shanghai) 之前未登录，我们将于当日关闭您的账户" in zh.body and "3 年" in zh.body
    assert "https://privacy.fulfillmen.example/accounts/login/" in zh.body
    assert f"客户编号 {chinese.public_id}" in zh.body and "您的同意选择记录" in zh.body  # what stays: the evidence
    assert "log in" not in zh.body and "Hello" not in zh.body

    with translation.override("en"):
        en_date = formats.date_format(erase_on, "DATE_FORMAT")
    en = emails["dormant@example.com"]
    assert en.subject == f"Log in before {en_date} to keep your Fulfillmen account"
    assert f"If you do not log in before {en_date} (Asia/Shanghai), we will close your account on that day" in en.body
    assert "for 3 years is closed" in en.body and "https://privacy.fulfillmen.example/accounts/login/" in en.body
    assert (f"What we would keep, under your client reference {english.public_id} only: the record of your consent "
            "choices") in en.body

    for moment in (timezone.now(), local_moment(erase_on - timedelta(days=1), time(23, 59))):
        with time_machine.travel(moment, tick=False), django_capture_on_commit_callbacks(execute=True):
            again = run()
        assert again["dormant_warnings"].done == 0 and again["dormant_accounts"].done == 0
    assert len(mail.outbox) == 2  # running the job again sends nothing new
    assert {c.pk: list(warnings_of(c).values_list("idempotency_key", flat=True)) for c in (chinese, english)} == {
        c.pk: [f"dormant-account-warning:{c.public_id}:1"] for c in (chinese, english)}
    assert RetentionRun.objects.order_by("finished_at").first().counts["dormant_warnings"] == {
        "action": "warn", "done": 2, "held": 0, "failed": 0}


def test_dormant_account_is_not_erased_before_the_warning_period_has_passed(
        settings, django_capture_on_commit_callbacks):
    settings.RETENTION_DORMANT_WARNING_DAYS = 14
    sleeper = dormant_client("sleeper@example.com", months=40)  # long past the period, but never warned
    with django_capture_on_commit_callbacks(execute=True):
        assert run()["dormant_warnings"].done == 1
    erase_on = timezone.localdate() + timedelta(days=14)
    [warning] = mail.outbox
    assert formats.date_format(erase_on, "DATE_FORMAT") in warning.subject

    with time_machine.travel(local_moment(erase_on - timedelta(days=1), time(23, 59)), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert run()["dormant_accounts"].done == 0
    assert not erased(sleeper) and len(mail.outbox) == 1

    with time_machine.travel(local_moment(erase_on), tick=False):  # the day the e-mail named
        with django_capture_on_commit_callbacks(execute=True):
            assert run()["dormant_accounts"].done == 1
    assert erased(sleeper)
    assert [m.subject for m in mail.outbox][1] == "Your unused Fulfillmen account was closed and your data erased"


def test_a_warning_still_waiting_to_be_sent_does_not_start_the_clock(django_capture_on_commit_callbacks):
    sleeper = dormant_client("sleeper@example.com")
    run()  # the delivery never happened (no commit here): the warning is still queued
    assert warnings_of(sleeper).get().status == OutboundMessage.Status.QUEUED
    with time_machine.travel(timezone.now() + timedelta(days=45), tick=False):
        outcomes = run()
    assert outcomes["dormant_accounts"].done == 0 and outcomes["dormant_warnings"].done == 0 and not erased(sleeper)


def test_logging_in_after_the_warning_keeps_the_account(django_capture_on_commit_callbacks):
    sleeper = dormant_client("sleeper@example.com")
    assert warn_dormant(days_ago=31) == 1
    with time_machine.travel(timezone.now() - timedelta(days=20), tick=False):  # ten days after the warning
        response = Browser().post(reverse("login"), {"username": "sleeper@example.com", "password": PASSWORD})
    assert response.status_code == 302
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        outcomes = run()

    assert outcomes["dormant_accounts"].done == 0 and outcomes["dormant_warnings"].done == 0
    sleeper.refresh_from_db()
    assert sleeper.erased_at is None and sleeper.full_name == "Dormant sleeper" and sleeper.user.is_active
    assert mail.outbox == [] and warnings_of(sleeper).count() == 1


def test_a_client_who_comes_back_and_goes_dormant_again_is_warned_again(django_capture_on_commit_callbacks):
    sleeper = dormant_client("sleeper@example.com", months=80)
    assert warn_dormant(days_ago=1300) == 1  # more than three and a half years ago
    with time_machine.travel(timezone.now() - timedelta(days=1290), tick=False):
        assert Browser().post(reverse("login"), {"username": "sleeper@example.com", "password": PASSWORD}).status_code == 302
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        outcomes = run()

    assert (outcomes["dormant_warnings"].done, outcomes["dormant_accounts"].done) == (1, 0)  # the old warning is stale
    assert not erased(sleeper)
    [again] = mail.outbox
    assert again.to == ["sleeper@example.com"]
    assert sorted(warnings_of(sleeper).values_list("idempotency_key", flat=True)) == [
        f"dormant-account-warning:{sleeper.public_id}:{n}" for n in (1, 2)]


def test_a_held_client_is_neither_warned_nor_erased_and_is_warned_once_the_hold_is_released(
        privacy_officer, django_capture_on_commit_callbacks):
    held = dormant_client("held@example.com")
    hold = legal_hold_set(client=held, reason="Claim about a lost parcel", keep_until=None, actor=privacy_officer)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = run()
    assert (outcomes["dormant_warnings"].done, outcomes["dormant_warnings"].held) == (0, 1)
    assert (outcomes["dormant_accounts"].done, outcomes["dormant_accounts"].held) == (0, 1)
    assert not warnings_of(held).exists() and not erased(held)

    legal_hold_release(hold=hold, reason="Claim settled", actor=privacy_officer)
    with django_capture_on_commit_callbacks(execute=True):
        assert run()["dormant_warnings"].done == 1
    assert not erased(held)  # warned first: erased at the earliest 30 days later


def test_a_hold_placed_after_the_warning_stops_the_erasure_on_the_named_day(
        privacy_officer, django_capture_on_commit_callbacks):
    sleeper = dormant_client("sleeper@example.com")
    warn_dormant(days_ago=31)
    hold = legal_hold_set(client=sleeper, reason="Court order", keep_until=None, actor=privacy_officer)
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = run()
    assert (outcomes["dormant_accounts"].done, outcomes["dormant_accounts"].held) == (0, 1) and not erased(sleeper)

    legal_hold_release(hold=hold, reason="Order lifted", actor=privacy_officer)
    with django_capture_on_commit_callbacks(execute=True):
        assert run()["dormant_accounts"].done == 1  # the warning was given; no second one
    assert erased(sleeper) and warnings_of(sleeper).count() == 1


def test_dry_run_counts_warnings_and_sends_nothing(privacy_officer, capsys, client, django_capture_on_commit_callbacks):
    due = dormant_client("due@example.com")
    warn_dormant(days_ago=31)
    for name in ("first", "second"):
        dormant_client(f"{name}@example.com")
    held = dormant_client("held@example.com")
    legal_hold_set(client=held, reason="", keep_until=None, actor=privacy_officer)
    mail.outbox.clear()
    before = database_snapshot()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("enforce_retention", "--dry-run")

    out = capsys.readouterr().out
    assert database_snapshot() == before and mail.outbox == []
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert "would warn: 2; kept: legal hold: 1" in lines["dormant_warnings"]
    assert "would erase: 1; kept: legal hold: 1" in lines["dormant_accounts"]
    assert "first@example.com" not in out and str(due.public_id) not in out

    with django_capture_on_commit_callbacks(execute=True):
        call_command("enforce_retention")
    assert "warned: 2; kept: legal hold: 1" in capsys.readouterr().out
    counts = RetentionRun.objects.get().counts
    assert counts["dormant_warnings"] == {"action": "warn", "done": 2, "held": 1, "failed": 0}
    assert counts["dormant_accounts"] == {"action": "erase", "done": 1, "held": 1, "failed": 0}
    assert sorted(m.to[0] for m in mail.outbox) == ["due@example.com", "first@example.com", "second@example.com"]
    client.force_login(privacy_officer)
    page = client.get("/admin/oversight/").content.decode()
    assert "Dormant accounts warned by e-mail before their erasure: 2." in page
    # the held client (once: not again for the warning it was not sent) and its IP address
    assert "dormant accounts erased: 1; kept under a legal hold: 2." in page


@pytest.mark.parametrize("days", [0, -5, 2000])
def test_a_warning_period_that_is_not_a_number_of_days_shorter_than_the_dormancy_stops_the_job(settings, days):
    settings.RETENTION_DORMANT_WARNING_DAYS = days
    with pytest.raises(Exception, match="RETENTION_DORMANT_WARNING_DAYS"):
        call_command("enforce_retention", "--dry-run")


def test_defaults_the_portal_records_for_a_new_recipient_do_not_keep_a_dormant_account_alive():
    """A new recipient gives every client a default consent event (sharing.recipient_consent_ensure); that is not the
    client's activity, so a client otherwise dormant for three years is still dormant."""
    from consent.models import Channel, ConsentEvent, Purpose
    from rights.retention.dormancy import dormant_clients
    from tests.conftest import make_client
    from tests.sharing.conftest import make_affiliate

    with time_machine.travel(timezone.now() - timedelta(days=3 * 366), tick=False):
        sleeper = make_client("sleeper@example.com", phone="")
    make_affiliate("Newcomer Ads")
    assert ConsentEvent.objects.filter(client=sleeper, channel=Channel.SIGNUP,
                                       purpose__parent=Purpose.objects.get(code="promotional-sharing")).exists()
    assert sleeper in dormant_clients(now=timezone.now())
