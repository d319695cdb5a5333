import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts.jurisdictions import Jurisdiction
from accounts.models import Client, PendingSignup, User
from notify.models import OutboundMessage
from tests.accounts.signup_links import sign_up_and_confirm
from tests.conftest import PASSWORD, make_client

pytestmark = pytest.mark.django_db


def signup_data(**overrides):
    data = {
        "full_name": "Li Wei",
        "email": "Li.Wei@Example.com",
        "phone": "138 0013 8000",
        "country": "CN",
        "preferred_language": "zh-hans",
        "password1": PASSWORD,
        "password2": PASSWORD,
    }
    data.update(overrides)
    return data


def test_signup_creates_a_logged_in_client_with_e164_phone_and_jurisdiction_once_the_link_is_followed(client):
    response = sign_up_and_confirm(client, signup_data())
    assert response.status_code == 302 and response["Location"] == reverse("portal:dashboard")
    created = Client.objects.get(email__iexact="li.wei@example.com")
    assert created.phone == "+8613800138000"
    assert created.jurisdiction == Jurisdiction.CN
    assert created.user.email == created.email and not created.user.is_staff
    assert client.get(reverse("portal:dashboard")).status_code == 200


def test_signup_with_bad_phone_says_why_and_creates_nothing(client):
    response = client.post(reverse("signup"), signup_data(phone="+86 138"))
    assert response.status_code == 400
    assert "is not a valid phone number: it is too short" in response.content.decode()
    assert not Client.objects.exists() and not User.objects.exists() and not PendingSignup.objects.exists()


def test_signup_with_bad_email_says_why(client):
    response = client.post(reverse("signup"), signup_data(email="li.wei(at)example"))
    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()
    assert not User.objects.exists()


def test_email_is_unique_whatever_its_case(client):
    """Sign-up no longer says so (issue #16.9): the owner is told by e-mail, and no second login appears."""
    make_client("li.wei@example.com")
    response = client.post(reverse("signup"), signup_data(email="LI.WEI@EXAMPLE.COM"))
    assert response.status_code == 302 and response["Location"] == reverse("signup_sent")
    assert "already registered" not in client.get(response["Location"]).content.decode()
    assert User.objects.count() == 1 and not PendingSignup.objects.exists()
    assert OutboundMessage.objects.filter(kind="signup-attempt", to="li.wei@example.com").count() == 1


def test_database_refuses_a_second_login_differing_only_in_case():
    User.objects.create_user("Case@Example.com", PASSWORD)
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user("case@example.COM", PASSWORD)


def test_login_email_is_case_insensitive(client):
    make_client("mixed@example.com")
    response = client.post(reverse("login"), {"username": "MIXED@example.COM", "password": PASSWORD})
    assert response.status_code == 302


def test_weak_password_is_refused_with_the_reason(client):
    response = client.post(reverse("signup"), signup_data(password1="12345678", password2="12345678"))
    assert response.status_code == 400
    assert "This password is too common." in response.content.decode()


@pytest.mark.parametrize(
    ("country", "region", "expected"),
    [("DE", "", Jurisdiction.EEA), ("NO", "", Jurisdiction.EEA), ("GB", "", Jurisdiction.UK), ("CN", "", Jurisdiction.CN),
     ("US", "US-CA", Jurisdiction.US_CA), ("US", "US-TX", Jurisdiction.OTHER), ("BR", "", Jurisdiction.OTHER)],
)
def test_jurisdiction_follows_the_country_of_residence(country, region, expected):
    created = make_client(f"{country}{region}@example.com", country=country, region=region, phone="")
    assert created.jurisdiction == expected


def test_a_client_can_never_be_made_staff():
    owner = make_client()
    owner.user.is_staff = True
    with pytest.raises(ValidationError, match="clients are never staff"):
        owner.user.full_clean()
