import re

import pytest
from playwright.sync_api import expect

from accounts.models import Client, IPObservation
from tests.accounts.signup_links import signup_link_path

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-browser-pass-31"


def fill_sign_up_form(page, *, name, email, phone, country):
    page.get_by_label("Full name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Mobile phone (optional)").fill(phone)
    page.get_by_label("Country of residence").select_option(country)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()


def test_client_signs_up_logs_out_logs_in_and_sees_their_dashboard(page):
    page.goto("/")
    page.get_by_role("link", name="Sign up").first.click()
    fill_sign_up_form(page, name="Zhang Wei", email="Zhang.Wei@Example.com", phone="+86 138 0013 8000", country="CN")

    # Confirm-first (issue #16.9): no account until the e-mailed link is opened with the password chosen.
    expect(page).to_have_url(re.compile(r"/accounts/signup/sent/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Check your email")
    assert not Client.objects.exists()
    page.goto(signup_link_path("zhang.wei@example.com"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Finish creating your account")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Yes, I am 14 or older").check()  # China: PIPL Art. 31 (accounts/minors.py)
    page.get_by_role("button", name="Create account").click()

    expect(page).to_have_url(re.compile(r"/portal/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Your privacy dashboard")
    expect(page.get_by_text("+8613800138000")).to_be_visible()
    for section in ["Your data", "Your choices", "Who received your data", "Policy", "Requests"]:
        expect(page.get_by_role("heading", name=section, exact=True)).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("link", name="Log in").first).to_be_visible()
    page.goto("/portal/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))

    page.get_by_label("Email").fill("zhang.wei@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(r"/portal/$"))
    expect(page.get_by_text("Zhang.Wei@example.com").first).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)

    client = Client.objects.get(email__iexact="zhang.wei@example.com")
    assert client.jurisdiction == "cn"
    assert IPObservation.objects.filter(client=client, ip_address="127.0.0.1").exists()


def test_sign_up_error_is_shown_next_to_the_field(page):
    page.goto("/accounts/signup/")
    fill_sign_up_form(page, name="Bad Phone", email="bad.phone@example.com", phone="+86 138", country="CN")
    expect(page.get_by_role("alert")).to_contain_text("too short")
    expect(page.get_by_label("Mobile phone (optional)")).to_have_value("+86 138")
    assert not Client.objects.exists()


def test_a_client_younger_than_14_in_china_gets_an_account_once_their_guardian_consents(page):
    """PIPL Art. 31 (issue #18.12): the sign-up link asks for the age; the guardian's link creates the account."""
    from notify.models import OutboundMessage
    from tests.accounts.test_minors import guardian_link_path

    page.goto("/accounts/signup/")
    fill_sign_up_form(page, name="Xiao Ming", email="xiao.ming@example.com", phone="", country="CN")
    page.goto(signup_link_path("xiao.ming@example.com"))
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("No, I am younger than 14: my parent or guardian will consent").check()
    page.get_by_label("Name of your parent or guardian (only if you are younger)").fill("Wang Fang")
    page.get_by_label("E-mail address of your parent or guardian (only if you are younger)").fill("wang.fang@example.com")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Your parent or guardian has to consent")
    assert not Client.objects.exists() and OutboundMessage.objects.filter(kind="signup-guardian").exists()

    page.goto(guardian_link_path())
    expect(page.get_by_role("heading", level=1)).to_contain_text("Consent of a parent or guardian")
    page.get_by_label("I am the parent or guardian of this person").check()
    page.get_by_role("button", name="I consent: create the account").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("The account is ready")
    assert Client.objects.get().consent_events.filter(purpose__code="guardian-consent").exists()
