"""Minors at sign-up (issue #18.12; PIPL Art. 28 and 31, GDPR Art. 8, COPPA): where the client's country has an age
rule, the sign-up link asks for the age; a younger client's account waits for a parent's or guardian's consent, and
either answer is evidence in the consent ledger."""

import hashlib
import json
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.minors import signup_age_rule_for
from accounts.models import Client, PendingSignup, SignupAgeRule, User
from accounts.signup import pending_signups_sweep, signup_confirm
from consent.models import AGE_CONFIRMATION, GUARDIAN_CONSENT, ConsentEvent, ConsentState
from consent.receipts import consent_receipt
from consent.verification import ledger_verify
from notify.models import OutboundMessage
from tests.accounts.signup_links import signup_link_path
from tests.conftest import PASSWORD, make_client

pytestmark = pytest.mark.django_db

CHILD_PASSWORD = "a-long-child-secret-41"
GUARDIAN_LINK = re.compile(r"\S+/accounts/signup/guardian/[^/\s]+/")


def sign_up(client, email="xiao.ming@example.com", *, country="CN", language="zh-hans", **overrides):
    data = {"full_name": "Xiao Ming", "email": email, "phone": "", "country": country,
            "preferred_language": language, "password1": CHILD_PASSWORD, "password2": CHILD_PASSWORD, **overrides}
    response = client.post(reverse("signup"), data)
    assert response.status_code == 302 and response["Location"] == reverse("signup_sent")
    return signup_link_path(email)


def younger(client, path, *, guardian_email="wang.fang@example.com", **extra):
    return client.post(path, {"password": CHILD_PASSWORD, "age": "younger", "guardian_name": "Wang Fang",
                              "guardian_email": guardian_email, **extra}, REMOTE_ADDR="198.51.100.7")


def guardian_link_path(guardian_email="wang.fang@example.com") -> str:
    """The link sent to the guardian: from the sent mail, or from its outbox row while it waits to be sent (once sent,
    the row keeps neither the address nor the body)."""
    bodies = [m.body for m in mail.outbox if guardian_email in m.to]
    bodies += OutboundMessage.objects.filter(kind="signup-guardian", to=guardian_email).values_list("body", flat=True)
    links = [match.group(0) for body in bodies if (match := GUARDIAN_LINK.search(body))]
    assert links, f"no consent link was sent to {guardian_email}"
    return urlsplit(links[-1]).path


def test_signup_under_the_jurisdictions_age_routes_to_guardian_consent(client):
    path = sign_up(client, language="en")
    page = client.get(path).content.decode()
    assert "Are you 14 or older?" in page and "No, I am younger than 14: my parent or guardian will consent" in page

    waiting = younger(client, path)
    assert waiting.status_code == 200 and "Your parent or guardian has to consent" in waiting.content.decode()
    assert "wang.fang@example.com" in waiting.content.decode()
    assert not User.objects.exists() and not Client.objects.exists()  # nothing until the guardian consents
    assert client.post(path, {"password": CHILD_PASSWORD, "age": "of-age"}).status_code == 400  # the child's link is spent
    message = OutboundMessage.objects.get(kind="signup-guardian")
    assert message.to == "wang.fang@example.com" and message.wipe_recipient_after_send
    assert "Xiao Ming (xiao.ming@example.com)" in message.body and "younger than 14" in message.body

    guardian = client_of_guardian = type(client)()
    page = guardian.get(guardian_link_path()).content.decode()
    assert "<strong>Xiao Ming</strong> (xiao.ming@example.com)" in page and "younger than 14" in page
    unticked = guardian.post(guardian_link_path(), {"decision": "consent"})
    assert unticked.status_code == 400 and not Client.objects.exists()
    done = client_of_guardian.post(guardian_link_path(), {"decision": "consent", "confirm": "on"},
                                   REMOTE_ADDR="203.0.113.9")
    assert done.status_code == 200 and "The account is ready" in done.content.decode()
    child = Client.objects.get(email="xiao.ming@example.com")
    assert child.user.check_password(CHILD_PASSWORD)  # the password the child chose
    assert "_auth_user_id" not in guardian.session  # the guardian is not logged in as the child
    assert not PendingSignup.objects.exists() and not child.ip_observations.exists()  # the guardian's IP is not the child's
    told = OutboundMessage.objects.get(kind="signup-guardian-answer")
    assert told.to == "xiao.ming@example.com" and told.client == child and "ready" in told.subject
    assert guardian.post(guardian_link_path(), {"decision": "consent", "confirm": "on"}).status_code == 400  # once


def test_guardian_consent_is_recorded_in_the_consent_ledger_naming_the_guardian(client):
    younger(client, sign_up(client))
    client.post(guardian_link_path(), {"decision": "consent", "confirm": "on"}, REMOTE_ADDR="203.0.113.9",
                HTTP_USER_AGENT="Guardian's browser")
    child = Client.objects.get()
    event = ConsentEvent.objects.get(client=child, purpose__code=GUARDIAN_CONSENT)
    assert (event.action, event.channel, event.recorded_by) == ("grant", "portal", None)
    assert "Wang Fang <wang.fang@example.com>" in event.personal.reason and "younger than 14" in event.personal.reason
    assert "from IP address 203.0.113.9" in event.personal.reason and event.personal.user_agent == "Guardian's browser"
    assert event.personal.ip_address is None and not child.ip_observations.exists()  # the guardian's, not the child's
    assert not ConsentEvent.objects.filter(client=child, purpose__code=AGE_CONFIRMATION).exists()
    # A minor's account starts with every consent purpose off, whatever the jurisdiction's default.
    assert not ConsentState.objects.filter(client=child, granted=True).exclude(purpose__code=GUARDIAN_CONSENT).exists()
    assert ledger_verify().intact
    receipt = consent_receipt(event=event)
    assert receipt["services"][0]["purposes"][0]["purposeId"] == GUARDIAN_CONSENT
    assert receipt["services"][0]["purposes"][0]["consentType"] == "EXPLICIT"
    entry = json.dumps(receipt["ledgerEntry"], sort_keys=True, separators=(",", ":"))
    assert hashlib.sha256(entry.encode()).hexdigest() == receipt["entryHash"] == event.entry_hash


def test_age_confirmation_is_recorded_in_the_consent_ledger(client):
    path = sign_up(client)
    response = client.post(path, {"password": CHILD_PASSWORD, "age": "of-age"}, REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 302 and response["Location"] == reverse("portal:dashboard")
    child = Client.objects.get()
    event = ConsentEvent.objects.get(client=child, purpose__code=AGE_CONFIRMATION)
    assert (event.action, event.channel) == ("grant", "portal") and event.personal.ip_address == "198.51.100.7"
    assert "confirmed at sign-up being 14 or older" in event.personal.reason and "PIPL Art. 28, 31" in event.personal.reason
    assert ConsentEvent.objects.filter(client=child, channel="signup").exists()  # the defaults, as before
    assert not ConsentEvent.objects.filter(client=child, channel="signup",
                                           purpose__code__in=[AGE_CONFIRMATION, GUARDIAN_CONSENT]).exists()
    assert ledger_verify().intact
    history = client.get(reverse("consent:history"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "注册时的年龄确认" in history  # the client sees it in their history
    choices = client.get(reverse("consent:choices")).content.decode()
    assert "Confirmation of age" not in choices and "guardian" not in choices  # evidence, not a choice


def test_the_link_refuses_to_create_the_account_without_an_answer_to_the_age_question(client):
    path = sign_up(client, language="en")
    refused = client.post(path, {"password": CHILD_PASSWORD})
    assert refused.status_code == 400 and "Please say whether you are 14 or older." in refused.content.decode()
    with pytest.raises(Exception, match="14 or older"):  # the service asks too, whatever the view does
        signup_confirm(token=path.split("/")[-2], password=CHILD_PASSWORD, ip_address=None)
    assert not User.objects.exists() and PendingSignup.objects.count() == 1


def test_a_younger_client_must_name_a_guardian_with_another_address(client):
    path = sign_up(client, language="en")
    missing = client.post(path, {"password": CHILD_PASSWORD, "age": "younger"}).content.decode()
    assert "Please give the name of your parent or guardian." in missing
    assert "Enter the e-mail address of your parent or guardian." in missing
    own = younger(client, path, guardian_email="Xiao.Ming@example.com")
    assert own.status_code == 400 and "This is your own address" in own.content.decode()
    wrong = younger(client, path, password="not-the-password")
    assert wrong.status_code == 400 and "This is not the password you chose" in wrong.content.decode()
    assert not OutboundMessage.objects.filter(kind="signup-guardian").exists() and not User.objects.exists()


def test_a_guardian_who_refuses_leaves_nothing_kept_and_the_client_is_told(client):
    younger(client, sign_up(client))
    path = guardian_link_path()
    done = client.post(path, {"decision": "refuse"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert done.status_code == 200 and "没有创建账户" in done.content.decode()
    assert not PendingSignup.objects.exists() and not User.objects.exists() and not ConsentEvent.objects.exists()
    told = OutboundMessage.objects.get(kind="signup-guardian-answer")
    assert told.to == "xiao.ming@example.com" and told.wipe_recipient_after_send and "没有" in told.body
    assert client.get(path).status_code == 400


def test_an_unanswered_guardian_link_expires_and_is_swept_with_the_guardians_address(client):
    younger(client, sign_up(client))
    path = guardian_link_path()
    with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1)):
        assert client.get(path).status_code == 400
        assert client.post(path, {"decision": "consent", "confirm": "on"}).status_code == 400
        assert pending_signups_sweep() == 1
    assert not PendingSignup.objects.exists() and not User.objects.exists()


def test_a_tampered_or_a_childs_link_does_not_open_the_guardians_page(client):
    child_path = sign_up(client)
    assert client.get(child_path.replace("/confirm/", "/guardian/")).status_code == 400  # not yet with the guardian
    younger(client, child_path)
    path = guardian_link_path()
    token = path.split("/")[-2]
    for attempt in (path.replace(token, token[:-1] + ("A" if token[-1] != "A" else "B")), path.replace(token, "x" * 43),
                    child_path.replace("/confirm/", "/guardian/")):
        assert client.post(attempt, {"decision": "consent", "confirm": "on"}).status_code == 400
    assert not User.objects.exists()


@pytest.mark.parametrize("country, age", [("CN", 14), ("DE", 16), ("FR", 16), ("GB", 13), ("US", 13), ("BR", None)])
def test_the_age_question_follows_the_rule_of_the_clients_country(client, country, age):
    rule = signup_age_rule_for(country=country)
    assert (rule.minimum_age if rule else None) == age
    path = sign_up(client, country=country, language="en")
    page = client.get(path).content.decode()
    if age is None:  # no rule: no question, and no age event
        assert "older?" not in page
        assert client.post(path, {"password": CHILD_PASSWORD}).status_code == 302
        assert not ConsentEvent.objects.filter(purpose__code__in=[AGE_CONFIRMATION, GUARDIAN_CONSENT]).exists()
    else:
        assert f"Are you {age} or older?" in page


def test_the_age_threshold_is_data_the_privacy_officer_edits(client, privacy_officer):
    client.force_login(privacy_officer)
    add = client.post(reverse("admin:accounts_signupagerule_add"), {"jurisdiction": "", "country": "FR",
                                                                     "minimum_age": "15", "note": "art. 45"})
    assert add.status_code == 302
    assert client.post(reverse("admin:accounts_signupagerule_add"), {"jurisdiction": "", "country": "FR",
                                                                      "minimum_age": "13"}).status_code == 200  # twice
    assert client.post(reverse("admin:accounts_signupagerule_add"), {"jurisdiction": "uk", "country": "IE",
                                                                      "minimum_age": "13"}).status_code == 200  # both
    client.logout()
    assert signup_age_rule_for(country="FR").minimum_age == 15 and signup_age_rule_for(country="DE").minimum_age == 16
    assert "Are you 15 or older?" in client.get(sign_up(client, country="FR", language="en")).content.decode()


def test_only_a_privacy_officer_changes_the_age_rules_legal_reads_them_and_others_are_refused(
        client, privacy_officer, support_agent, owner):
    from accounts.services import staff_user_ensure

    legal = staff_user_ensure(email="legal@example.com", password=PASSWORD, groups=["Legal"])
    rule = SignupAgeRule.objects.get(jurisdiction="cn")
    change = reverse("admin:accounts_signupagerule_change", args=[rule.pk])
    data = {"jurisdiction": "cn", "country": "", "minimum_age": "10", "note": ""}
    for user, reads in ((legal, True), (support_agent, False)):
        client.force_login(user)
        assert client.get(change).status_code == (200 if reads else 403)
        assert client.post(change, data).status_code == 403
    client.force_login(owner.user)  # a client: the admin sends them to its log-in
    assert client.post(change, data).status_code == 302
    assert SignupAgeRule.objects.get(pk=rule.pk).minimum_age == 14
    client.force_login(privacy_officer)
    assert client.post(change, {**data, "minimum_age": "0"}).status_code == 200  # an age of 0 is refused
    assert client.post(change, {**data, "minimum_age": "16"}).status_code == 302
    assert SignupAgeRule.objects.get(pk=rule.pk).minimum_age == 16


def test_a_taken_address_still_gets_the_same_answer_whatever_the_age(client):
    make_client("taken@example.com", country="CN", phone="+8613800138000")
    new = client.post(reverse("signup"), {"full_name": "A", "email": "new@example.com", "phone": "", "country": "CN",
                                          "preferred_language": "en", "password1": CHILD_PASSWORD,
                                          "password2": CHILD_PASSWORD})
    taken = client.post(reverse("signup"), {"full_name": "A", "email": "taken@example.com", "phone": "", "country": "CN",
                                            "preferred_language": "en", "password1": CHILD_PASSWORD,
                                            "password2": CHILD_PASSWORD})
    assert new.status_code == taken.status_code == 302 and new["Location"] == taken["Location"]


def test_the_guardian_is_written_to_in_the_childs_language_and_the_sent_mail_keeps_no_link(
        client, django_capture_on_commit_callbacks):
    path = sign_up(client)  # zh-hans
    with django_capture_on_commit_callbacks(execute=True):
        younger(client, path)
    [sent] = [m for m in mail.outbox if m.to == ["wang.fang@example.com"]]
    assert sent.subject == "Xiao Ming 请求您同意其创建账户" and "未满 14 周岁" in sent.body
    assert GUARDIAN_LINK.search(sent.body)
    row = OutboundMessage.objects.get(kind="signup-guardian")
    assert row.status == OutboundMessage.Status.SENT and row.to == "" and row.body == ""  # the link outlives nothing
