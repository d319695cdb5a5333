from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.password_validation import validate_password
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_five_wrong_passwords_lock_the_login_even_with_the_right_one(client, owner):
    for _ in range(4):
        response = client.post(reverse("login"), {"username": owner.email, "password": "wrong-guess-123"})
        assert response.status_code == 200 and "Please enter a correct email address and password" in response.content.decode()
    fifth = client.post(reverse("login"), {"username": owner.email, "password": "wrong-guess-123"})
    assert fifth.status_code == 429
    response = client.post(reverse("login"), {"username": owner.email, "password": PASSWORD})
    assert response.status_code == 429
    assert "locked" in response.content.decode().lower()
    assert "_auth_user_id" not in client.session


def test_lockout_is_per_email_so_other_clients_can_still_log_in(client, owner, outsider):
    for _ in range(5):
        client.post(reverse("login"), {"username": owner.email, "password": "wrong-guess-123"})
    response = client.post(reverse("login"), {"username": outsider.email, "password": PASSWORD})
    assert response.status_code == 302


def test_password_reset_sends_a_link_that_sets_a_new_password(client, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("password_reset"), {"email": owner.email.upper()})
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [owner.email]
    link = next(line for line in mail.outbox[0].body.splitlines() if "/accounts/reset/" in line).strip()
    path = link[link.index("/accounts/reset/"):]
    form_page = client.get(path, follow=True)
    new_password = "a-brand-new-password-77"
    response = client.post(form_page.redirect_chain[-1][0], {"new_password1": new_password, "new_password2": new_password})
    assert response.status_code == 302
    assert client.post(reverse("login"), {"username": owner.email, "password": new_password}).status_code == 302


def test_password_reset_for_an_unknown_email_reveals_nothing(client):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302 and response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


def test_the_admin_log_in_is_locked_after_five_wrong_passwords_too(client, privacy_officer):
    for _ in range(5):
        client.post("/admin/login/", {"username": privacy_officer.email, "password": "wrong-guess-123"})
    response = client.post("/admin/login/", {"username": privacy_officer.email, "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 429 and "_auth_user_id" not in client.session


def test_a_session_ends_after_eight_hours(client, owner, settings):
    assert settings.SESSION_COOKIE_AGE == 8 * 60 * 60
    client.post(reverse("login"), {"username": owner.email, "password": PASSWORD})
    assert client.get(reverse("portal:dashboard")).status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=8, minutes=1)):
        response = client.get(reverse("portal:dashboard"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("weak", ["short1!", "password123", "1234567890123", "owner@example.com"])
def test_weak_passwords_are_refused_with_a_reason(owner, weak):
    with pytest.raises(ValidationError) as refused:
        validate_password(weak, user=owner.user)
    assert refused.value.messages


@pytest.mark.parametrize("headers", [{"HTTP_HOST": "localhost"},
                                     {"HTTP_HOST": "testserver", "HTTP_X_FORWARDED_HOST": "localhost"}],
                         ids=["forged-host", "forged-x-forwarded-host"])
def test_a_reset_asked_with_a_forged_host_mails_a_link_to_the_site_url(client, owner, settings, headers,
                                                                       django_capture_on_commit_callbacks):
    settings.SITE_URL = "https://privacy.fulfillmen.example"
    settings.USE_X_FORWARDED_HOST = "HTTP_X_FORWARDED_HOST" in headers  # even a proxy set-up that believes the header
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("password_reset"), {"email": owner.email}, **headers)
    assert response.status_code == 302
    body = mail.outbox[0].body
    links = [word for word in body.split() if "://" in word]
    assert links and all(link.startswith("https://privacy.fulfillmen.example/accounts/reset/") for link in links), body
    assert "localhost" not in body and "testserver" not in body
