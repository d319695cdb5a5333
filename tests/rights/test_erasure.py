"""Erasure: asked for with the password, cancellable during the grace period, then nothing personal left anywhere —
unless a legal hold keeps the data, and then the client is told why and until when."""

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
import time_machine
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth import authenticate
from django.contrib.sessions.models import Session
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test import Client as Browser
from django.test import RequestFactory
from django.urls import reverse
from django.utils import formats, timezone

from accounts.models import Client
from accounts.services import address_add, staff_user_ensure
from consent.models import ConsentEvent, ConsentEventPersonalData
from disclosures.services import disclosure_record
from notify.models import OutboundMessage
from rights.erasure import erasure_perform, erasure_request, scheduled_erasure_of
from rights.export import export_request
from rights.intake import client_question_ask, public_request_submit
from rights.models import DataExport, DataSubjectRequest
from rights.services import legal_hold_release, legal_hold_set, request_reply
from rights.tasks import perform_due_erasures
from sharing.models import Affiliate, SharingRecord, WithdrawalNotice
from sharing.services import affiliate_key_create
from tests.conftest import PASSWORD, make_client
from tests.sharing.conftest import bearer, engage, make_affiliate, recipient_purpose

pytestmark = pytest.mark.django_db
Status = DataSubjectRequest.Status

NAME = "Wilhelmina Erasmus-Okafor"
EMAIL = "wilhelmina.erasmus@example.com"
PHONE = "+49 151 98765432"
PHONE_FORMS = ["+4915198765432", "0151 98765432", "015198765432"]  # E.164 and the national form, spaced or not
STREET = "Loeschweg 17"  # ASCII: JSON columns escape other characters, and ILIKE must find it there too
SIGNUP_IP, PORTAL_IP = "198.51.100.77", "203.0.113.99"
BROWSER = "EraseMeBrowser/1.0 (history test)"
NEEDLES = [EMAIL, *PHONE_FORMS, NAME, STREET, SIGNUP_IP, PORTAL_IP, BROWSER]
ERASE = "/portal/data/erase/"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def personal_values_in_database(*needles) -> list[str]:
    """Every text, varchar, JSON and inet column of every table in the public schema, searched for each value."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.table_name, c.column_name FROM information_schema.columns c "
            "JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
            "WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' "
            "AND c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb', 'inet', 'cidr') "
            "ORDER BY 1, 2")
        columns = cursor.fetchall()
        assert len(columns) > 100, "the search must cover the whole schema"
        found = []
        for table, column in columns:
            for needle in needles:
                cursor.execute(f'SELECT count(*) FROM "{table}" WHERE "{column}"::text ILIKE %s', [f"%{needle}%"])
                if cursor.fetchone()[0]:
                    found.append(f"{table}.{column}: {needle}")
        return found


def run_beat_task(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return perform_due_erasures.delay().get()


def ask_for_erasure(browser, *, password=PASSWORD):
    return browser.post(ERASE, {"password": password}, REMOTE_ADDR=PORTAL_IP, HTTP_USER_AGENT=BROWSER)


def log_in(browser, email=EMAIL):
    response = browser.post(reverse("login"), {"username": email, "password": PASSWORD}, REMOTE_ADDR=PORTAL_IP,
                            HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 302, "the login must work before the erasure"


def withdrawals_feed(browser, key, purpose):
    since = (timezone.now() - timedelta(days=30)).isoformat()
    response = browser.get("/api/v1/withdrawals/", {"purpose": purpose, "since": since}, **bearer(key))
    assert response.status_code == 200
    return response.json()["results"]


@dataclass
class History:
    person: Client
    ads_key: str
    dropship_key: str


@pytest.fixture
def person(db):
    return make_client(EMAIL, phone=PHONE, full_name=NAME, ip_address=SIGNUP_IP)


@pytest.fixture
def history(client, person, privacy_officer, django_capture_on_commit_callbacks):
    """A client with a past: logins (and a failed one), a consent given in the portal, an address, two affiliates that
    received them, a question answered by staff, a request from the public form, an export, a password reset,
    an admin change and a released legal hold whose reason names them."""
    address = address_add(client=person, kind="residential", country="DE", line1=STREET, city="Berlin", postcode="10115")
    ads, dropship = make_affiliate("Ads Network"), make_affiliate(
        "Dropship Partner", purpose="order-fulfilment", fields=("name", "phone", "shipping_address"), country="CN")
    ads_key, dropship_key = affiliate_key_create(affiliate=ads)[1], affiliate_key_create(affiliate=dropship)[1]
    engage(dropship, [person])  # an order of theirs routed to the partner
    with django_capture_on_commit_callbacks(execute=True):
        log_in(client)
        Browser().post(reverse("login"), {"username": EMAIL, "password": "wrong-password-1"}, REMOTE_ADDR=PORTAL_IP,
                       HTTP_USER_AGENT=BROWSER)  # a failed attempt elsewhere, kept by axes
        client.post(reverse("consent:change", args=[recipient_purpose(ads).code]), {"action": "grant"},
                    REMOTE_ADDR=PORTAL_IP, HTTP_USER_AGENT=BROWSER)
        for key, purpose in [(ads_key, "promotional-sharing"), (dropship_key, "order-fulfilment")]:
            assert client.get("/api/v1/clients/", {"purpose": purpose}, **bearer(key)).status_code == 200
        question = client_question_ask(client=person, subject="My number",
                                       body=f"Please call me on {PHONE_FORMS[1]} or write to {EMAIL}.")
        request_reply(request=question, body=f"Dear {NAME}, we will call you at {PHONE_FORMS[0]}.", actor=privacy_officer)
        public_request_submit(name=NAME, email=EMAIL, kind="access", details=f"I live at {STREET}.")
        export_request(client=person)
        client.post(reverse("password_reset"), {"email": EMAIL})
    LogEntry.objects.log_actions(user_id=privacy_officer.pk, queryset=[person], action_flag=CHANGE,
                                 change_message=[{"added": {"name": "address", "object": str(address)}}])
    hold = legal_hold_set(client=person, reason=f"Claim by {NAME} <{EMAIL}> about a parcel", keep_until=None,
                          actor=privacy_officer)
    legal_hold_release(hold=hold, reason=f"{NAME} withdrew the claim", actor=privacy_officer)
    # The two affiliates; the e-mail processor's records of the messages sent to them are apart (issue #18).
    assert SharingRecord.objects.filter(client=person).exclude(affiliate__kind=Affiliate.Kind.PROCESSOR).count() == 2
    assert DataExport.objects.get(client=person).status == DataExport.Status.READY
    return History(person, ads_key, dropship_key)


def test_the_page_explains_what_is_erased_what_is_kept_and_the_grace_period(client, person, settings):
    settings.ERASURE_GRACE_DAYS = 10
    log_in(client)
    page = client.get(ERASE).content.decode()
    assert "What is erased" in page and "What we keep" in page and str(person.public_id) in page
    assert "10 days after you ask" in page and 'name="password"' in page


def test_erasure_needs_the_right_password(client, person):
    log_in(client)
    response = ask_for_erasure(client, password="not-my-password")
    assert response.status_code == 400
    assert "That is not your password" in response.content.decode()
    assert not DataSubjectRequest.objects.filter(kind="erasure").exists()
    assert not OutboundMessage.objects.filter(kind__startswith="erasure").exists()


def test_asking_schedules_the_erasure_after_the_grace_period_and_emails_the_date_and_how_to_cancel(
        client, person, settings, django_capture_on_commit_callbacks):
    settings.ERASURE_GRACE_DAYS = 7
    log_in(client)
    with django_capture_on_commit_callbacks(execute=True):
        response = ask_for_erasure(client)
    assert response.status_code == 302 and response["Location"] == ERASE
    erasure = DataSubjectRequest.objects.get(kind="erasure", client=person)
    assert erasure.status == Status.SCHEDULED and erasure.channel == "portal"
    assert erasure.scheduled_for - erasure.received_at == timedelta(days=7)
    page = client.get(ERASE).content.decode()
    assert "Your data will be erased on" in page and reverse("rights:erase_cancel", args=[erasure.public_id]) in page
    assert 'name="password"' not in page
    [email] = [m for m in mail.outbox if "will be erased" in m.subject]
    assert email.to == [EMAIL] and "cancel the erasure at http" in email.body and ERASE in email.body
    # A second request while one is scheduled is the same request.
    assert erasure_request(client=person, actor=person.user).pk == erasure.pk


def test_nothing_is_erased_before_the_date_and_cancelling_stops_the_erasure(
        client, person, django_capture_on_commit_callbacks):
    log_in(client)
    ask_for_erasure(client)
    erasure = scheduled_erasure_of(client=person)
    with time_machine.travel(erasure.scheduled_for - timedelta(minutes=1)):
        assert run_beat_task(django_capture_on_commit_callbacks) == 0
    person.refresh_from_db()
    assert person.email == EMAIL and person.erased_at is None
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("rights:erase_cancel", args=[erasure.public_id]))
    assert response.status_code == 302
    erasure.refresh_from_db()
    assert erasure.status == Status.CANCELLED
    with time_machine.travel(erasure.scheduled_for + timedelta(days=1)):
        assert run_beat_task(django_capture_on_commit_callbacks) == 0
    person.refresh_from_db()
    assert person.email == EMAIL and person.full_name == NAME and person.erased_at is None
    assert [m.to for m in mail.outbox if "cancelled" in m.subject] == [[EMAIL]]
    assert 'name="password"' in client.get(ERASE).content.decode()  # they may ask again


def test_after_the_grace_period_no_personal_value_is_left_anywhere_and_the_ledger_still_verifies(
        client, history, capsys, media, django_capture_on_commit_callbacks):
    person = history.person
    before = personal_values_in_database(*NEEDLES)
    for table in ["accounts_client", "accounts_address", "accounts_ipobservation", "consent_consenteventpersonaldata",
                  "notify_outboundmessage", "rights_requestmessage", "rights_datasubjectrequest", "rights_legalhold",
                  "axes_accesslog", "axes_accessattempt", "django_admin_log.object_repr", "django_admin_log.change_message",
                  "accounts_user"]:
        assert any(hit.startswith(table) for hit in before), f"the history should have put values in {table}"
    export_file = DataExport.objects.get(client=person).file.name
    assert (media / export_file).exists()

    ask_for_erasure(client)
    erasure = scheduled_erasure_of(client=person)
    mail.outbox.clear()
    with time_machine.travel(erasure.scheduled_for + timedelta(minutes=5)):
        assert run_beat_task(django_capture_on_commit_callbacks) == 1

    assert personal_values_in_database(*NEEDLES) == []
    assert not (media / export_file).exists()
    assert not ConsentEventPersonalData.objects.filter(event__client=person).exists()
    assert ConsentEvent.objects.filter(client=person).exists()  # the pseudonymous ledger stays
    call_command("verify_ledger")
    assert "Ledger intact" in capsys.readouterr().out
    person.refresh_from_db()
    assert person.full_name == "Erased client" and person.phone == "" and person.erased_at is not None
    assert person.email == f"erased-{person.public_id}@erased.invalid"
    assert not person.addresses.exists() and not person.ip_observations.exists()
    erasure.refresh_from_db()
    assert erasure.status == Status.COMPLETED and erasure.completed_at is not None


def test_the_final_email_reaches_the_old_address_and_its_delivery_row_then_forgets_it(
        client, person, django_capture_on_commit_callbacks):
    log_in(client)
    ask_for_erasure(client)
    erasure = scheduled_erasure_of(client=person)
    mail.outbox.clear()
    with time_machine.travel(erasure.scheduled_for + timedelta(minutes=5)):
        run_beat_task(django_capture_on_commit_callbacks)
    [final] = mail.outbox
    assert final.to == [EMAIL] and "has been erased" in final.subject and NAME in final.body
    assert str(person.public_id) in final.body
    row = OutboundMessage.objects.get(kind="erasure-done")
    assert row.status == OutboundMessage.Status.SENT
    assert (row.to, row.body) == ("", "") and row.client_id == person.pk


def test_the_login_no_longer_works_and_every_session_ends(client, person, django_capture_on_commit_callbacks):
    log_in(client)
    ask_for_erasure(client)
    assert Session.objects.exists()
    erasure = scheduled_erasure_of(client=person)
    with time_machine.travel(erasure.scheduled_for + timedelta(minutes=5)):
        run_beat_task(django_capture_on_commit_callbacks)
    assert not [s for s in Session.objects.all() if s.get_decoded().get("_auth_user_id") == str(person.user_id)]
    assert client.get(reverse("portal:dashboard")).status_code == 302  # logged out
    response = client.post(reverse("login"), {"username": EMAIL, "password": PASSWORD})
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    request = RequestFactory().post("/accounts/login/")
    assert authenticate(request, username=f"erased-{person.public_id}@erased.invalid", password=PASSWORD) is None
    person.user.refresh_from_db()
    assert not person.user.is_active and not person.user.has_usable_password()


def test_affiliates_that_received_the_client_see_the_erasure_in_their_withdrawal_feed(
        client, history, django_capture_on_commit_callbacks):
    person = history.person
    ask_for_erasure(client)
    erasure = scheduled_erasure_of(client=person)
    with time_machine.travel(erasure.scheduled_for + timedelta(minutes=5)):
        run_beat_task(django_capture_on_commit_callbacks)
    client.logout()
    for key, purpose in [(history.ads_key, "promotional-sharing"), (history.dropship_key, "order-fulfilment")]:
        feed = withdrawals_feed(client, key, purpose)
        assert [(n["client_id"], n["reason"]) for n in feed] == [(str(person.public_id), "erasure")]
    assert WithdrawalNotice.objects.filter(client=person, reason="erasure").count() == 2


def test_an_erased_client_is_no_longer_in_any_affiliate_client_feed(client, history, django_capture_on_commit_callbacks):
    person = history.person
    ask_for_erasure(client)
    erasure = scheduled_erasure_of(client=person)
    with time_machine.travel(erasure.scheduled_for + timedelta(minutes=5)):
        run_beat_task(django_capture_on_commit_callbacks)
    client.logout()
    response = client.get("/api/v1/clients/", {"purpose": "order-fulfilment"}, **bearer(history.dropship_key))
    assert str(person.public_id) not in [item["id"] for item in response.json()["results"]]


def test_a_legal_hold_blocks_erasure_and_the_page_says_why_and_until_when(client, person, privacy_officer):
    keep_until = timezone.localdate() + timedelta(days=400)
    legal_hold_set(client=person, reason="Unpaid customs duties are being recovered in court.", keep_until=keep_until,
                   actor=privacy_officer)
    log_in(client)
    page = client.get(ERASE).content.decode()
    assert "cannot be erased now" in page and "Unpaid customs duties are being recovered in court." in page
    assert f"Kept until {formats.date_format(keep_until, 'DATE_FORMAT')}." in page
    assert 'name="password"' not in page and "Erase my data" not in page


def test_asking_under_a_legal_hold_is_refused_with_the_reasons_and_the_client_is_emailed(
        client, person, privacy_officer, django_capture_on_commit_callbacks):
    log_in(client)
    client.get(ERASE)  # the page, shown before the hold
    legal_hold_set(client=person, reason="A chargeback dispute is open.", keep_until=date(2099, 1, 31),
                   actor=privacy_officer)
    with django_capture_on_commit_callbacks(execute=True):
        response = ask_for_erasure(client)
    assert response.status_code == 302
    erasure = DataSubjectRequest.objects.get(kind="erasure", client=person)
    assert erasure.status == Status.REFUSED and "A chargeback dispute is open." in erasure.refusal_reason
    assert "2099" in erasure.refusal_reason
    [email] = [m for m in mail.outbox if m.to == [EMAIL] and "refused" in m.subject]
    assert "A chargeback dispute is open." in email.body and "complaint" in email.body
    person.refresh_from_db()
    assert person.erased_at is None and person.email == EMAIL


def test_an_open_disclosure_blocks_erasure_and_the_client_is_told_about_it(client, person,
                                                                            django_capture_on_commit_callbacks):
    recorder = staff_user_ensure(email="legal@example.com", password=PASSWORD, groups=["Legal"])
    disclosure_record(recorded_by=recorder, clients=[person], authority_name="Landeskriminalamt Berlin",
                      authority_country="DE", authority_kind="police", request_type="warrant",
                      reference_number="LKA-2026-17", received_on=timezone.localdate(), categories_requested=["email"])
    log_in(client)
    page = client.get(ERASE).content.decode()
    assert "Landeskriminalamt Berlin" in page and "Kept until the matter is closed." in page
    with django_capture_on_commit_callbacks(execute=True):
        erasure = erasure_request(client=person, actor=person.user)
    assert erasure.status == Status.REFUSED and "Landeskriminalamt Berlin" in erasure.refusal_reason
    assert any("Landeskriminalamt Berlin" in m.body for m in mail.outbox if m.to == [EMAIL])


def test_a_hold_set_during_the_grace_period_blocks_the_erasure_when_it_falls_due(
        client, person, privacy_officer, django_capture_on_commit_callbacks):
    log_in(client)
    ask_for_erasure(client)
    erasure = scheduled_erasure_of(client=person)
    legal_hold_set(client=person, reason="Tax audit of 2025 shipments.", keep_until=date(2030, 6, 30),
                   actor=privacy_officer)
    mail.outbox.clear()
    with time_machine.travel(erasure.scheduled_for + timedelta(minutes=5)):
        assert run_beat_task(django_capture_on_commit_callbacks) == 1
    erasure.refresh_from_db()
    assert erasure.status == Status.REFUSED and "Tax audit of 2025 shipments." in erasure.refusal_reason
    person.refresh_from_db()
    assert person.erased_at is None and person.email == EMAIL and person.full_name == NAME
    [email] = mail.outbox
    assert email.to == [EMAIL] and "was to be erased on" in email.body and "Tax audit of 2025 shipments." in email.body


def test_the_beat_task_erases_once_however_often_it_runs(client, person, django_capture_on_commit_callbacks):
    log_in(client)
    ask_for_erasure(client)
    erasure = scheduled_erasure_of(client=person)
    with time_machine.travel(erasure.scheduled_for + timedelta(minutes=5)):
        assert run_beat_task(django_capture_on_commit_callbacks) == 1
        assert run_beat_task(django_capture_on_commit_callbacks) == 0
        assert erasure_perform(request=erasure).status == Status.COMPLETED
    assert OutboundMessage.objects.filter(kind="erasure-done").count() == 1


def test_an_erasure_is_never_performed_before_its_date(client, person):
    log_in(client)
    ask_for_erasure(client)
    erasure = scheduled_erasure_of(client=person)
    with pytest.raises(Exception, match="grace period"):
        erasure_perform(request=erasure)
    person.refresh_from_db()
    assert person.erased_at is None


def test_an_outsider_cannot_cancel_someone_elses_erasure(client, person, outsider):
    log_in(client)
    ask_for_erasure(client)
    erasure = scheduled_erasure_of(client=person)
    client.logout()
    log_in(client, email=outsider.email)
    response = client.post(reverse("rights:erase_cancel", args=[erasure.public_id]))
    assert response.status_code == 404
    erasure.refresh_from_db()
    assert erasure.status == Status.SCHEDULED


def test_an_erased_client_gets_no_policy_notice_or_reminder(client, person, outsider, django_capture_on_commit_callbacks):
    from amendments.models import NoticeDelivery
    from amendments.notices import notices_create
    from amendments.services import policy_first_version_ensure
    from consent.policy_answers import clients_without_answer

    log_in(client)
    ask_for_erasure(client)
    erasure = scheduled_erasure_of(client=person)
    with time_machine.travel(erasure.scheduled_for + timedelta(minutes=5)):
        run_beat_task(django_capture_on_commit_callbacks)
    version = policy_first_version_ensure(label="2027-01", body_en="Text.", body_zh_hans="", summary="First")
    notices_create(version=version)
    assert set(NoticeDelivery.objects.values_list("client_id", flat=True)) == {outsider.pk}
    assert list(clients_without_answer(version=version)) == [outsider]


def test_with_cached_sessions_the_erasure_ends_the_cached_copy_too(client, person, settings,
                                                                    django_capture_on_commit_callbacks):
    """SESSION_STORE=cached_db: the session is read from the cache; erasure deletes it there as in the database."""
    from django.contrib.sessions.backends.cached_db import KEY_PREFIX
    from django.core.cache import cache

    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    log_in(client)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert client.get(reverse("portal:dashboard")).status_code == 200
    assert cache.get(KEY_PREFIX + key) is not None  # the page read its session from the cache
    ask_for_erasure(client)
    erasure = scheduled_erasure_of(client=person)
    with time_machine.travel(erasure.scheduled_for + timedelta(minutes=5)):
        run_beat_task(django_capture_on_commit_callbacks)
    assert cache.get(KEY_PREFIX + key) is None and not Session.objects.filter(session_key=key).exists()
    assert client.get(reverse("portal:dashboard")).status_code == 302


def test_with_cached_sessions_a_copy_cached_again_during_the_erasure_is_deleted_when_it_commits(
        client, person, settings, django_capture_on_commit_callbacks):
    """A request on the session while the erasure's transaction is open reads the still-committed row and caches it
    again (with the last IP address seen): the copy goes once the erasure commits."""
    from django.contrib.sessions.backends.cached_db import KEY_PREFIX, SessionStore
    from django.core.cache import cache
    from django.db import transaction

    from rights.erasure.anonymise import _sessions_end

    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    log_in(client)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    copy = SessionStore(session_key=key).load()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        _sessions_end(person.user_id)
        assert cache.get(KEY_PREFIX + key) is None
        cache.set(KEY_PREFIX + key, copy)  # what the concurrent request's load does on its cache miss
    assert cache.get(KEY_PREFIX + key) is None


def test_with_cached_sessions_logging_out_ends_the_cached_copy(client, person, settings):
    from django.contrib.sessions.backends.cached_db import KEY_PREFIX
    from django.core.cache import cache

    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    log_in(client)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    client.get(reverse("portal:dashboard"))
    client.post(reverse("logout"))
    assert cache.get(KEY_PREFIX + key) is None and not Session.objects.filter(session_key=key).exists()
