"""Retention enforced (GDPR Art. 5(1)(e); PIPL Art. 19, 47): data of every age on both sides of each boundary — just
expired, just not expired, held and not held — and exactly what survives the job; the dry run changes nothing; the
evidence the law makes us keep is never shortened; the texts clients read follow the same settings."""

from dataclasses import dataclass
from datetime import timedelta

import pytest
import time_machine
from axes.models import AccessLog
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.utils import timezone, translation

from accounts.email_change import client_email_change_start
from accounts.models import Client, EmailChangeRequest, IPObservation, Language, PendingSignup, StaffAccess
from accounts.services import ip_observation_record
from consent.models import ConsentEvent, ConsentEventPersonalData, Purpose
from notify.models import OutboundMessage
from notify.services import message_queue
from rights.export import export_request
from rights.intake import client_question_ask, public_request_submit
from rights.inventory import BY_CODE
from rights.models import DataExport, DataSubjectRequest, LegalHold, RequestMessage, RetentionRun
from rights.retention.enforce import retention_enforce
from rights.retention.periods import months_before
from rights.services import legal_hold_release, legal_hold_set, request_close
from sharing.models import SharingRecord, WithdrawalNotice
from sharing.services import sharing_records_write
from tests.conftest import make_client
from tests.rights.dormancy import warn_dormant
from tests.sharing.conftest import make_affiliate

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def ago(months: int, *, plus: timedelta = timedelta(0)):
    """`months` calendar months before now, moved by `plus` (negative: older, so expired; positive: younger)."""
    return months_before(timezone.now(), months) + plus


def expired(months):
    return ago(months, plus=-DAY)


def not_expired(months):
    return ago(months, plus=DAY)


def run(**kwargs):
    return {o.code: o for o in retention_enforce(**kwargs)}


def held_client(email, privacy_officer, **extra):
    client = make_client(email, **extra)
    legal_hold_set(client=client, reason="Claim about a lost parcel", keep_until=None, actor=privacy_officer)
    return client


def sent_message(client, key, at):
    message = message_queue(channel=OutboundMessage.Channel.EMAIL, kind="consent-receipt", client=client, to=client.email,
                            subject="Your receipt", body=f"Hello {client.full_name}", idempotency_key=key)
    OutboundMessage.objects.filter(pk=message.pk).update(status=OutboundMessage.Status.SENT, created_at=at, finished_at=at)
    return message.pk


def closed_question(client, body, closed_at):
    request = client_question_ask(client=client, subject="Where is my parcel", body=body)
    request_close(request=request, status=DataSubjectRequest.Status.COMPLETED, outcome="Answered by e-mail.")
    DataSubjectRequest.objects.filter(pk=request.pk).update(completed_at=closed_at)
    return request.pk


def dormant_client(email, *, months=37, language=Language.EN):
    """Signed up (IP seen, default consents recorded) `months` ago and never seen since."""
    with time_machine.travel(ago(months), tick=False):
        return make_client(email, full_name=f"Dormant {email.split('@')[0]}", ip_address="198.51.100.20",
                           preferred_language=language)


# --- one rule at a time ---------------------------------------------------------------------------------------------

def test_ip_addresses_older_than_twelve_months_are_deleted_and_newer_ones_kept(owner, privacy_officer):
    held = held_client("held@example.com", privacy_officer)
    for ip, client, last_seen in [("192.0.2.1", owner, expired(12)), ("192.0.2.2", owner, not_expired(12)),
                                  ("192.0.2.3", held, expired(12))]:
        ip_observation_record(client=client, ip_address=ip, context=IPObservation.Context.LOGIN, at=last_seen)
        IPObservation.objects.filter(ip_address=ip).update(first_seen=last_seen, last_seen=last_seen)

    outcome = run()["ip_addresses"]

    assert set(IPObservation.objects.values_list("ip_address", flat=True)) == {"192.0.2.2", "192.0.2.3"}
    assert (outcome.done, outcome.held) == (1, 1)


def test_login_records_with_their_ip_address_go_after_twelve_months_unless_the_login_is_held(owner, privacy_officer):
    held = held_client("held@example.com", privacy_officer)
    for username, at in [(owner.email, expired(12)), (owner.email, not_expired(12)), (held.email.upper(), expired(12))]:
        row = AccessLog.objects.create(username=username, ip_address="203.0.113.9", user_agent="Browser/1")
        AccessLog.objects.filter(pk=row.pk).update(attempt_time=at)

    outcome = run()["login_records"]

    assert sorted((r.username, r.attempt_time > ago(12)) for r in AccessLog.objects.all()) == sorted(
        [(owner.email, True), (held.email.upper(), False)])
    assert (outcome.done, outcome.held) == (1, 1)


def test_messages_older_than_two_years_lose_their_recipient_subject_and_text_and_keep_their_delivery_record(
        owner, privacy_officer):
    held = held_client("held@example.com", privacy_officer)
    old, young = sent_message(owner, "old", expired(24)), sent_message(owner, "young", not_expired(24))
    held_old = sent_message(held, "held-old", expired(24))
    stuck = message_queue(channel=OutboundMessage.Channel.EMAIL, kind="x", client=owner, to=owner.email, body="queued",
                          idempotency_key="stuck")
    OutboundMessage.objects.filter(pk=stuck.pk).update(created_at=expired(24))  # never sent: the sender's sweep's

    assert run()["messages"].done == 1
    wiped = OutboundMessage.objects.get(pk=old)
    assert (wiped.to, wiped.subject, wiped.body) == ("", "", "")
    assert (wiped.client_id, wiped.kind, wiped.status) == (owner.pk, "consent-receipt", OutboundMessage.Status.SENT)
    for pk in (young, held_old, stuck.pk):
        assert OutboundMessage.objects.get(pk=pk).body.startswith(("Hello", "queued"))
    assert "then the address, subject and text are deleted" in str(BY_CODE["messages"].retention)


def test_request_texts_go_twenty_four_months_after_closing_and_the_request_log_stays(owner, privacy_officer):
    held = held_client("held@example.com", privacy_officer)
    old = closed_question(owner, "Call me on +49 151 1111111", expired(24))
    young = closed_question(owner, "Call me on +49 151 2222222", not_expired(24))
    held_old = closed_question(held, "Call me on +49 151 3333333", expired(24))
    with time_machine.travel(expired(24), tick=False):
        still_open = client_question_ask(client=owner, subject="Open", body="Still waiting").pk
        never_verified = public_request_submit(name="Pat Public", email="pat@example.com", kind="access",
                                               details="I live at Musterweg 1").pk

    assert run()["request_log"].done == 2

    for pk in (old, never_verified):
        request = DataSubjectRequest.objects.get(pk=pk)
        assert (request.requester_name, request.requester_email, request.details) == ("", "", "")
        assert set(RequestMessage.objects.filter(request=request).values_list("body", flat=True)) <= {"[erased]"}
        assert request.kind and request.channel and request.received_at  # the log's entry stays
    assert DataSubjectRequest.objects.get(pk=old).outcome == "Answered by e-mail."
    for pk, text in [(young, "2222222"), (held_old, "3333333"), (still_open, "Still waiting")]:
        assert any(text in body for body in RequestMessage.objects.filter(request_id=pk).values_list("body", flat=True))


def test_request_log_can_be_kept_longer_but_never_shorter_than_twenty_four_months(settings, owner):
    settings.RETENTION_REQUEST_LOG_MONTHS = 12
    with pytest.raises(Exception, match="at least 24"):
        run(dry_run=True)
    with pytest.raises(Exception, match="at least 24"):
        call_command("enforce_retention", "--dry-run")


def test_released_legal_holds_are_deleted_twenty_four_months_after_release_and_active_ones_stay(owner, privacy_officer):
    holds = {}
    for name, released_at in [("old", expired(24)), ("young", not_expired(24)), ("active", None)]:
        holds[name] = legal_hold_set(client=make_client(f"{name}@example.com"), reason=name, keep_until=None,
                                     actor=privacy_officer)
        if released_at:
            legal_hold_release(hold=holds[name], reason="Claim settled", actor=privacy_officer)
            LegalHold.objects.filter(pk=holds[name].pk).update(released_at=released_at)

    assert run()["released_holds"].done == 1
    assert set(LegalHold.objects.values_list("reason", flat=True)) == {"young", "active"}


def test_export_files_are_deleted_when_their_link_expires_and_the_record_stays(
        owner, media, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        export = export_request(client=owner)
    export.refresh_from_db()
    path = media / export.file.name
    assert path.exists()
    DataExport.objects.filter(pk=export.pk).update(expires_at=timezone.now() + timedelta(minutes=1))
    assert run()["export_files"].done == 0 and path.exists()

    DataExport.objects.filter(pk=export.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert run()["export_files"].done == 1
    export.refresh_from_db()
    assert not export.file and export.sha256 and not path.exists()


def test_unconfirmed_signups_expired_sessions_and_dead_email_change_links_are_cleared(owner):
    now = timezone.now()
    for key, expires in [("gone", now - DAY), ("kept", now + DAY)]:
        PendingSignup.objects.create(email=f"{key}@example.com", full_name=key, country="DE", preferred_language="en",
                                     password_hash="x", token_digest=key * 8, expires_at=expires)
        Session.objects.create(session_key=key * 8, session_data="e30:", expire_date=expires)
    change = client_email_change_start(client=owner, new_email="new@example.com", started_by=owner.user)
    EmailChangeRequest.objects.filter(pk=change.pk).update(expires_at=now - DAY)

    outcomes = run()

    assert list(PendingSignup.objects.values_list("full_name", flat=True)) == ["kept"]
    assert list(Session.objects.values_list("session_key", flat=True)) == ["kept" * 8]
    change.refresh_from_db()
    assert change.status == EmailChangeRequest.Status.EXPIRED and change.token_digest  # still says "expired"
    assert (outcomes["pending_signups"].done, outcomes["sessions"].done, outcomes["email_change_links"].done) == (1, 1, 1)


# --- dormant accounts -----------------------------------------------------------------------------------------------

@dataclass
class Dormancy:
    dormant: Client
    recent_login: Client
    held: Client
    open_request: Client
    young: Client


@pytest.fixture
def dormancy(privacy_officer):
    dormant = dormant_client("sleeper@example.com", language=Language.ZH_HANS)
    recent_login = dormant_client("returning@example.com")
    recent_login.user.last_login = not_expired(36)
    recent_login.user.save(update_fields=["last_login"])
    held = dormant_client("held@example.com")
    legal_hold_set(client=held, reason="", keep_until=None, actor=privacy_officer)
    open_request = dormant_client("waiting@example.com")
    with time_machine.travel(expired(36), tick=False):
        client_question_ask(client=open_request, subject="Parcel", body="Where is it?")
    young = dormant_client("young@example.com", months=35)
    ads = make_affiliate("Ads Network")
    sharing_records_write(affiliate=ads, purpose=Purpose.objects.get(code="promotional-sharing"), fields=["email"],
                          client_ids=[dormant.pk, held.pk], api_key=None, request_id=dormant.public_id, at=expired(36))
    warn_dormant(days_ago=31)  # an account is erased only after its warning (tests/rights/test_retention_warnings.py)
    return Dormancy(dormant, recent_login, held, open_request, young)


def test_dormant_account_is_anonymised_after_three_years_unless_under_legal_hold(
        dormancy, django_capture_on_commit_callbacks):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        outcome = run()["dormant_accounts"]

    assert (outcome.done, outcome.held) == (1, 1)
    erased = Client.objects.get(pk=dormancy.dormant.pk)
    assert erased.erased_at and erased.full_name == "Erased client" and erased.phone == ""
    assert not erased.ip_observations.exists() and not ConsentEventPersonalData.objects.filter(event__client=erased).exists()
    assert ConsentEvent.objects.filter(client=erased).exists()  # the pseudonymous ledger stays
    erased.user.refresh_from_db()
    assert not erased.user.is_active
    notice = WithdrawalNotice.objects.get(client=erased)
    assert notice.reason == WithdrawalNotice.Reason.ERASURE and notice.affiliate.name == "Ads Network"
    # the last log-in just under three years ago: not erased, but warned now, as dormant within the warning's 30 days
    email, warning = sorted(mail.outbox, key=lambda m: m.to != ["sleeper@example.com"])
    assert warning.to == ["returning@example.com"] and "If you do not log in before" in warning.body
    assert email.to == ["sleeper@example.com"] and "3 年" in email.body and "您的个人信息" in email.body
    assert not OutboundMessage.objects.filter(to="sleeper@example.com").exists()  # the address goes once sent
    for kept in (dormancy.recent_login, dormancy.held, dormancy.open_request, dormancy.young):
        kept.refresh_from_db()
        assert kept.erased_at is None and kept.full_name.startswith("Dormant")
    assert not WithdrawalNotice.objects.filter(client=dormancy.held).exists()


def test_a_dormant_account_is_erased_once_however_often_the_job_runs(dormancy, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert run()["dormant_accounts"].done == 1
        again = run()
    assert all(o.done == 0 for o in again.values())
    assert WithdrawalNotice.objects.filter(client=dormancy.dormant).count() == 1
    assert OutboundMessage.objects.filter(kind="dormant-account-erased").count() == 1


def test_the_account_text_follows_the_dormancy_setting_and_so_does_the_job(settings, dormancy, client):
    settings.RETENTION_DORMANT_ACCOUNT_MONTHS = 48
    assert run(dry_run=True)["dormant_accounts"].done == 0
    client.force_login(dormancy.young.user)
    page = client.get("/portal/data/").content.decode()
    assert "After 4 years with no log-in or other activity" in page
    with translation.override("zh-hans"):
        assert "4 年" in str(BY_CODE["identity"].retention)


# --- evidence -------------------------------------------------------------------------------------------------------

def test_consent_ledger_is_never_shortened_by_retention(owner, privacy_officer, capsys, django_capture_on_commit_callbacks):
    with time_machine.travel(ago(120), tick=False):  # ten years old
        old_client = make_client("loyal@example.com", ip_address="198.51.100.30")
    old_client.user.last_login = timezone.now()
    old_client.user.save(update_fields=["last_login"])
    sharing_records_write(affiliate=make_affiliate("Ads Network"), purpose=Purpose.objects.get(code="promotional-sharing"),
                          fields=["email"], client_ids=[old_client.pk], api_key=None, request_id=old_client.public_id,
                          at=ago(60))
    StaffAccess.objects.create(staff=privacy_officer, client=old_client, action=StaffAccess.Action.VIEW_DETAIL, path="/x/")
    before = (ConsentEvent.objects.count(), ConsentEventPersonalData.objects.count(), SharingRecord.objects.count(),
              StaffAccess.objects.count())
    assert all(before)

    with django_capture_on_commit_callbacks(execute=True):
        outcomes = run()

    assert (ConsentEvent.objects.count(), ConsentEventPersonalData.objects.count(), SharingRecord.objects.count(),
            StaffAccess.objects.count()) == before
    assert {code: o.done for code, o in outcomes.items() if o.action == "keep"} == {
        "consent_ledger": 0, "sharing_evidence": 0, "staff_access": 0, "rectifications": 0}
    call_command("verify_ledger")
    assert "Ledger intact" in capsys.readouterr().out


# --- the run: dry run, trace, command, schedule ---------------------------------------------------------------------

def database_snapshot() -> dict:
    """A digest of every row of every table: any change anywhere shows."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1")
        tables = [row[0] for row in cursor.fetchall()]
        digests = {}
        for table in tables:
            cursor.execute(f'SELECT count(*), md5(coalesce(string_agg(t::text, \'|\' ORDER BY t::text), \'\')) FROM "{table}" t')
            digests[table] = cursor.fetchone()
        return digests


def test_dry_run_prints_counts_per_category_and_changes_nothing(dormancy, owner, capsys, media):
    ip_observation_record(client=owner, ip_address="192.0.2.1", context=IPObservation.Context.LOGIN, at=expired(12))
    IPObservation.objects.filter(ip_address="192.0.2.1").update(first_seen=expired(12), last_seen=expired(12))
    sent_message(owner, "old", expired(24))
    before, files = database_snapshot(), sorted(media.rglob("*"))

    call_command("enforce_retention", "--dry-run")

    out = capsys.readouterr().out
    assert database_snapshot() == before and sorted(media.rglob("*")) == files
    assert "Dry run: nothing was changed." in out
    lines = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert "would erase: 1; kept: legal hold: 1" in lines["dormant_accounts"]
    assert "would delete: 5; kept: legal hold: 1" in lines["ip_addresses"]  # the owner's, four dormant sign-ups'
    assert "would anonymise: 1;" in lines["messages"]
    assert "kept: evidence, never shortened" in lines["consent_ledger"]
    assert "sleeper@example.com" not in out and "192.0.2.1" not in out


def test_each_run_leaves_a_retention_record_with_counts_only(dormancy, capsys, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("enforce_retention")
    out = capsys.readouterr().out
    assert "erased: 1; kept: legal hold: 1" in out
    record = RetentionRun.objects.get()
    assert record.trigger == RetentionRun.Trigger.COMMAND and record.finished_at >= record.started_at
    assert record.counts["dormant_accounts"] == {"action": "erase", "done": 1, "held": 1, "failed": 0}
    assert record.counts["consent_ledger"]["action"] == "keep"
    text = str(record.counts)
    assert "sleeper" not in text and "198.51.100.20" not in text and str(dormancy.dormant.public_id) not in text


def test_the_officer_dashboard_shows_the_last_retention_run(client, privacy_officer, dormancy,
                                                             django_capture_on_commit_callbacks):
    client.force_login(privacy_officer)
    page = client.get("/admin/oversight/").content.decode()
    assert "The retention job has not run yet." in page and "manage.py enforce_retention" in page
    with django_capture_on_commit_callbacks(execute=True):
        retention_enforce()
    page = client.get("/admin/oversight/").content.decode()
    assert "dormant accounts erased: 1; kept under a legal hold: 2." in page  # the held client and its IP address
    assert "has not run for more than two days" not in page


def test_the_retention_job_runs_daily_on_the_beat_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["enforce-retention"]
    assert entry == {"task": "rights.tasks.enforce_retention", "schedule": 86400.0}


def test_an_account_whose_erasure_fails_is_counted_logged_and_erased_by_the_next_run(
        dormancy, monkeypatch, capsys, django_capture_on_commit_callbacks):
    from rights.erasure import dormant

    second = dormant_client("second@example.com")
    warn_dormant(days_ago=31)
    erase = dormant.dormant_client_erase

    def failing(*, client_id, now):
        if client_id == second.pk:
            raise RuntimeError("storage unavailable")
        return erase(client_id=client_id, now=now)

    monkeypatch.setattr(dormant, "dormant_client_erase", failing)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Exception, match="tried again on the next run"):
        call_command("enforce_retention")
    assert RetentionRun.objects.get().counts["dormant_accounts"] == {"action": "erase", "done": 1, "held": 1, "failed": 1}
    second.refresh_from_db()
    assert second.erased_at is None and second.full_name == "Dormant second"

    monkeypatch.setattr(dormant, "dormant_client_erase", erase)
    with django_capture_on_commit_callbacks(execute=True):
        assert run()["dormant_accounts"].done == 1
    second.refresh_from_db()
    assert second.erased_at is not None


def test_an_agents_name_signed_permission_and_appeal_grounds_go_with_the_request_texts(owner, privacy_officer):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from rights.agents import agent_request_answer, agent_request_submit
    from rights.appeals import appeal_open
    from rights.links import agent_confirm_link

    with time_machine.travel(expired(24) - timedelta(days=1), tick=False):
        dsr = agent_request_submit(agent_name="Alex Agent", agent_email="alex@agency.example", client_name="Carla",
                                   client_email="carla@example.com", kind="access", details="",
                                   permission=SimpleUploadedFile("p.pdf", b"%PDF-1.4\n%%EOF\n"))
        agent_request_answer(token=agent_confirm_link(request=dsr).rstrip("/").rsplit("/", 1)[1], confirmed=True)
        dsr = request_close(request=dsr, status=DataSubjectRequest.Status.REFUSED, refusal_reason="Not found.",
                            actor=privacy_officer)
        appeal, _ = appeal_open(request=dsr, grounds="I am Carla, at Musterweg 1.", channel="link")
    storage = dsr.agent.permission_file.storage
    name = dsr.agent.permission_file.name
    assert storage.exists(name)

    run()

    dsr.agent.refresh_from_db()
    appeal.refresh_from_db()
    assert (dsr.agent.agent_name, dsr.agent.agent_email, dsr.agent.permission_file.name) == ("", "", "")
    assert not storage.exists(name) and appeal.grounds == ""
    assert appeal.status == "open" and DataSubjectRequest.objects.get(pk=dsr.pk).refusal_reason == "Not found."
