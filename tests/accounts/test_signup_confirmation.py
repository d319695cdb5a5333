"""Sign-up never tells whether an address has an account (issue #16.9): every valid form gets the same answer; a new
address gets a one-time link that creates the account, a taken one gets a "someone tried" notice to its owner."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.hashers import MD5PasswordHasher, check_password
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.models import Client, IPObservation, PendingSignup, User
from accounts.signup import pending_signups_sweep
from consent.models import ConsentEvent
from notify.models import OutboundMessage
from tests.accounts.signup_links import signup_link, signup_link_path
from tests.conftest import PASSWORD, make_client

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "another-long-secret-77"
OF_AGE = {"age": "of-age"}  # Li Wei lives in China, where the link asks whether they are 14 or older (accounts/minors.py)


def form(email, password=NEW_PASSWORD, **overrides):
    return {"full_name": "Li Wei", "email": email, "phone": "138 0013 8000", "country": "CN",
            "preferred_language": "zh-hans", "password1": password, "password2": password, **overrides}


def without_csrf(response) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())


def test_a_new_and_a_taken_address_get_the_same_answer(client, owner):
    new = client.post(reverse("signup"), form("new.person@example.com"))
    taken = client.post(reverse("signup"), form(owner.email.upper()))
    assert new.status_code == taken.status_code == 302
    assert new["Location"] == taken["Location"] == reverse("signup_sent")
    assert new.content == taken.content
    assert sorted(new.headers) == sorted(taken.headers)
    assert without_csrf(client.get(new["Location"])) == without_csrf(client.get(taken["Location"]))


class CountingHasher(MD5PasswordHasher):
    """The tests' quick hasher, counting how often a password is hashed."""
    algorithm = "counting_md5"
    calls = 0

    def encode(self, password, salt):
        CountingHasher.calls += 1
        return super().encode(password, salt)


def test_a_taken_address_costs_the_same_password_hashing_as_a_new_one(client, owner, settings):
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    counts = []
    for email in ("new.person@example.com", owner.email):
        CountingHasher.calls = 0
        client.post(reverse("signup"), form(email))
        counts.append(CountingHasher.calls)
    assert counts == [1, 1]


def test_the_owner_of_a_taken_address_is_told_in_their_language_and_nothing_changes(client, settings,
                                                                                  django_capture_on_commit_callbacks):
    settings.SITE_URL = "https://privacy.fulfillmen.example"
    owner = make_client("wang.fang@example.com", country="CN", phone="+8613800138000", full_name="王芳",
                        preferred_language="zh-hans")
    before = User.objects.values_list("pk", "password", "email").get(pk=owner.user_id)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("signup"), form("Wang.Fang@Example.com", full_name="Mallory", phone="+49 151 23456789",
                                            country="DE", preferred_language="en"), HTTP_HOST="localhost")
    [notice] = mail.outbox
    assert notice.to == ["wang.fang@example.com"] and notice.subject == "有人尝试使用您的电子邮箱地址注册"
    assert "王芳" in notice.body and "没有创建新账户" in notice.body
    links = re.findall(r"\S+://\S+", notice.body)
    assert links == ["https://privacy.fulfillmen.example/accounts/login/",
                     "https://privacy.fulfillmen.example/accounts/password_reset/"]
    assert User.objects.values_list("pk", "password", "email").get(pk=owner.user_id) == before
    owner.refresh_from_db()
    assert (owner.full_name, owner.phone, str(owner.country)) == ("王芳", "+8613800138000", "CN")
    assert User.objects.count() == 1 and not PendingSignup.objects.exists()
    assert client.post(reverse("login"), {"username": owner.email, "password": NEW_PASSWORD}).status_code == 200
    assert client.post(reverse("login"), {"username": owner.email, "password": PASSWORD}).status_code == 302


def test_a_new_address_gets_a_link_and_no_account_exists_until_it_is_used(client, settings,
                                                                          django_capture_on_commit_callbacks):
    settings.SITE_URL = "https://privacy.fulfillmen.example"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("signup"), form("New.Person@Example.com"), HTTP_HOST="localhost")
    [message] = mail.outbox
    assert message.to == ["New.Person@example.com"] and message.subject == "请确认您的电子邮箱地址以完成创建账户"
    assert signup_link("new.person@example.com").startswith("https://privacy.fulfillmen.example/accounts/signup/confirm/")
    assert not User.objects.exists() and not Client.objects.exists()
    pending = PendingSignup.objects.get()
    assert check_password(NEW_PASSWORD, pending.password_hash)
    stored = " ".join(str(value) for value in PendingSignup.objects.values().get().values())
    assert NEW_PASSWORD not in stored and signup_link_path("new.person@example.com").split("/")[-2] not in stored
    sent = OutboundMessage.objects.get(kind="signup-confirm")
    assert sent.status == OutboundMessage.Status.SENT and sent.to == "" and sent.body == ""  # nothing outlives it


def test_the_link_asks_for_the_password_then_creates_the_logged_in_client_with_defaults_and_ip(client):
    client.post(reverse("signup"), form("new.person@example.com"))
    path = signup_link_path("new.person@example.com")
    assert client.get(path).status_code == 200 and client.get(path).status_code == 200  # a GET changes nothing
    assert not User.objects.exists()
    response = client.post(path, {"password": NEW_PASSWORD, **OF_AGE}, REMOTE_ADDR="198.51.100.23")
    assert response.status_code == 302 and response["Location"] == reverse("portal:dashboard")
    created = Client.objects.get(email="new.person@example.com")
    assert (created.full_name, created.phone, created.preferred_language) == ("Li Wei", "+8613800138000", "zh-hans")
    assert ConsentEvent.objects.filter(client=created, channel="signup").exists()
    assert IPObservation.objects.filter(client=created, ip_address="198.51.100.23").exists()
    assert client.get(reverse("portal:dashboard")).status_code == 200
    assert not PendingSignup.objects.exists()


def test_the_link_creates_the_account_once(client):
    client.post(reverse("signup"), form("new.person@example.com"))
    path = signup_link_path("new.person@example.com")
    assert client.post(path, {"password": NEW_PASSWORD, **OF_AGE}).status_code == 302
    client.logout()
    again = client.post(path, {"password": NEW_PASSWORD, **OF_AGE})
    assert again.status_code == 400 and "This link cannot be used" in again.content.decode()
    assert client.get(path).status_code == 400
    assert User.objects.count() == Client.objects.count() == 1 and "_auth_user_id" not in client.session


def test_an_expired_link_is_refused_and_swept(client):
    client.post(reverse("signup"), form("new.person@example.com"))
    path = signup_link_path("new.person@example.com")
    with time_machine.travel(timezone.now() + timedelta(hours=48, minutes=1)):
        assert client.get(path).status_code == 400
        assert client.post(path, {"password": NEW_PASSWORD, **OF_AGE}).status_code == 400
        assert pending_signups_sweep() == 1
    assert not User.objects.exists() and not PendingSignup.objects.exists()


def test_a_tampered_link_is_refused(client):
    client.post(reverse("signup"), form("new.person@example.com"))
    path = signup_link_path("new.person@example.com")
    token = path.split("/")[-2]
    tampered = path.replace(token, token[:-1] + ("A" if token[-1] != "A" else "B"))
    for attempt in (tampered, path.replace(token, token[:-4]), path.replace(token, "x" * 43)):
        assert client.post(attempt, {"password": NEW_PASSWORD, **OF_AGE}).status_code == 400
    assert not User.objects.exists() and PendingSignup.objects.count() == 1


def test_a_wrong_password_on_the_link_creates_nothing_and_leaves_the_link_usable(client):
    client.post(reverse("signup"), form("new.person@example.com"))
    path = signup_link_path("new.person@example.com")
    refused = client.post(path, {"password": PASSWORD, **OF_AGE})
    assert refused.status_code == 400 and "This is not the password you chose" in refused.content.decode()
    assert not User.objects.exists()
    assert client.post(path, {"password": NEW_PASSWORD, **OF_AGE}).status_code == 302


def test_someone_elses_sign_up_with_my_address_cannot_be_completed_after_mine(client):
    """An attacker's pending sign-up (their password) for my address: my own sign-up spends theirs."""
    client.post(reverse("signup"), form("me@example.com", password="attackers-password-1"))
    attackers = signup_link_path("me@example.com")
    client.post(reverse("signup"), form("me@example.com"))
    mine = signup_link_path("me@example.com")
    assert mine != attackers
    assert client.post(mine, {"password": NEW_PASSWORD, **OF_AGE}).status_code == 302
    client.logout()
    assert client.post(attackers, {"password": "attackers-password-1", **OF_AGE}).status_code == 400
    assert User.objects.get().check_password(NEW_PASSWORD) and not PendingSignup.objects.exists()


def test_an_address_that_got_an_account_meanwhile_spends_the_link(client):
    client.post(reverse("signup"), form("new.person@example.com"))
    make_client("new.person@example.com")  # e.g. staff entered it, then the client set a password
    assert client.post(signup_link_path("new.person@example.com"), {"password": NEW_PASSWORD, **OF_AGE}).status_code == 400
    assert User.objects.count() == 1 and not PendingSignup.objects.exists()
