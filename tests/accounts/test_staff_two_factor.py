"""Staff reach the admin only with a second factor (TOTP, django-otp); clients never reach it.

These tests log in through the admin's form, or with `password_only_force_login` (a session that passed the password
only): the conftest shim makes `client.force_login` pass both factors for the rest of the suite.
"""

import io
import re

import pytest
from django.core.management import CommandError, call_command, load_command_class
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.two_factor import REFUSED, staff_totp_device, staff_totp_enrol, totp_secret
from tests.conftest import PASSWORD, password_only_force_login

pytestmark = pytest.mark.django_db

ADMIN_PAGES = ["/admin/", "/admin/oversight/", "/admin/consent/consentevent/", "/admin/rights/datasubjectrequest/"]


def code(device) -> str:
    """The code the staff member's authenticator app shows now."""
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift):06d}"


def admin_log_in(client, user, token=""):
    return client.post("/admin/login/", {"username": user.email, "password": PASSWORD, "otp_token": token, "next": "/admin/"})


def assert_kept_out(client):
    for page in ADMIN_PAGES:
        response = client.get(page)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/"), page


def test_the_admin_log_in_asks_for_the_code(client):
    page = client.get("/admin/login/").content.decode()
    assert 'name="otp_token"' in page and 'name="password"' in page


def test_staff_with_the_right_password_and_code_reach_the_admin_and_the_oversight_dashboard(client, privacy_officer):
    device = staff_totp_enrol(user=privacy_officer)
    response = admin_log_in(client, privacy_officer, code(device))
    assert response.status_code == 302 and response["Location"] == "/admin/"
    for page in ADMIN_PAGES:
        assert client.get(page).status_code == 200, page


def test_staff_without_a_device_stay_out(client, privacy_officer):
    response = admin_log_in(client, privacy_officer, "123456")
    assert response.status_code == 200 and str(REFUSED) in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert_kept_out(client)


@pytest.mark.parametrize("token", ["", "000000", "not-a-code"])
def test_staff_with_a_missing_or_wrong_code_stay_out(client, privacy_officer, token):
    device = staff_totp_enrol(user=privacy_officer)
    if token == "000000" and code(device) == token:
        token = "999999"
    response = admin_log_in(client, privacy_officer, token)
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    assert_kept_out(client)


def test_a_code_is_taken_once(client, privacy_officer):
    device = staff_totp_enrol(user=privacy_officer)
    token = code(device)
    assert admin_log_in(client, privacy_officer, token).status_code == 302
    client.logout()
    assert admin_log_in(client, privacy_officer, token).status_code == 200
    assert "_auth_user_id" not in client.session


def test_a_session_that_passed_the_password_only_gets_the_log_in_page_not_data(client, privacy_officer):
    staff_totp_enrol(user=privacy_officer)
    password_only_force_login(client, privacy_officer)
    assert_kept_out(client)
    page = client.get("/admin/login/")
    assert page.status_code == 200 and "not authorized to access this page" in page.content.decode()
    assert 'name="otp_token"' in page.content.decode()


def test_the_test_suites_force_login_passes_both_factors(client, privacy_officer):
    client.force_login(privacy_officer)
    assert client.get("/admin/").status_code == 200
    assert staff_totp_device(privacy_officer) is not None


def test_clients_never_reach_the_admin(client, owner):
    response = admin_log_in(client, owner.user, "123456")
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    client.force_login(owner.user)  # a client's session, logged in by the portal
    assert_kept_out(client)
    with pytest.raises(ValueError, match="not staff"):
        staff_totp_enrol(user=owner.user)
    assert not TOTPDevice.objects.filter(user=owner.user).exists()


def test_replacing_a_device_ends_the_sessions_it_verified(client, privacy_officer):
    client.force_login(privacy_officer)
    assert client.get("/admin/").status_code == 200
    call_command("staff_totp_enrol", privacy_officer.email, "--reset", stdout=io.StringIO())
    assert_kept_out(client)


def test_the_enrolment_command_prints_the_uri_and_secret_of_a_working_device(client, privacy_officer, capsys):
    call_command("staff_totp_enrol", privacy_officer.email.upper())
    out = capsys.readouterr().out
    device = TOTPDevice.objects.get(user=privacy_officer)
    secret = totp_secret(device)
    assert device.confirmed and f"secret: {secret}" in out
    uri = next(line.split("URI:")[1].strip() for line in out.splitlines() if "URI:" in line)
    assert uri.startswith("otpauth://totp/Fulfillmen%20Privacy%20Portal%3Aprivacy%40example.com?")
    assert f"secret={secret}" in uri and "issuer=Fulfillmen%20Privacy%20Portal" in uri
    assert admin_log_in(client, privacy_officer, code(device)).status_code == 302


def test_enrolling_twice_needs_reset_which_replaces_the_device(privacy_officer, capsys):
    call_command("staff_totp_enrol", privacy_officer.email)
    first = TOTPDevice.objects.get(user=privacy_officer)
    with pytest.raises(CommandError, match="already has a TOTP device; --reset"):
        call_command("staff_totp_enrol", privacy_officer.email)
    assert list(TOTPDevice.objects.filter(user=privacy_officer)) == [first]
    call_command("staff_totp_enrol", privacy_officer.email, "--reset")
    second = TOTPDevice.objects.get(user=privacy_officer)
    assert second.pk != first.pk and second.key != first.key
    assert capsys.readouterr().out.count("secret: ") == 2


@pytest.mark.parametrize(("who", "error"), [("nobody@example.com", "No login with the e-mail"),
                                            ("owner@example.com", "is not staff")])
def test_the_enrolment_command_refuses_unknown_emails_and_clients(owner, who, error):
    with pytest.raises(CommandError, match=error):
        call_command("staff_totp_enrol", who)
    assert not TOTPDevice.objects.exists()


def test_the_enrolment_command_exits_non_zero_on_an_error(owner, capsys):
    with pytest.raises(SystemExit) as exited:
        load_command_class("accounts", "staff_totp_enrol").run_from_argv(["manage.py", "staff_totp_enrol", "nobody@example.com"])
    assert exited.value.code == 1 and "No login with the e-mail" in capsys.readouterr().err


def test_seed_demo_gives_each_demo_staff_login_a_device_and_prints_its_uri(capsys):
    call_command("seed_demo", "--password", "demo-pass-123")
    out = capsys.readouterr().out
    devices = {d.user.email: d for d in TOTPDevice.objects.select_related("user")}
    assert set(devices) == {"privacy@demo.test", "legal@demo.test", "legal2@demo.test", "support@demo.test",
                            "partners@demo.test"}
    for device in devices.values():
        assert f"secret={totp_secret(device)}" in out and device.confirmed
    call_command("seed_demo", "--password", "demo-pass-123")
    assert {d.user.email: d.key for d in TOTPDevice.objects.select_related("user")} == {e: d.key for e, d in devices.items()}


def refusal_page(response) -> str:
    """The page as the attacker compares it: without the per-response CSRF token and the code they typed themselves."""
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())
    return re.sub(r'(name="otp_token"[^>]*?) value="[^"]*"', r"\1", page)


@pytest.mark.parametrize("typed", ["", "not-a-code", "wrong", "right"])
def test_a_wrong_code_after_the_right_password_reads_exactly_like_a_wrong_password(client, privacy_officer, typed):
    device = staff_totp_enrol(user=privacy_officer)
    right = code(device)
    token = {"wrong": "999999" if right == "000000" else "000000", "right": right}.get(typed, typed)
    wrong_password = client.post("/admin/login/", {"username": privacy_officer.email, "password": "wrong-guess-123",
                                                   "otp_token": token, "next": "/admin/"})
    wrong_code = admin_log_in(client, privacy_officer, "999999" if right == "000000" else "000000")
    assert wrong_password.status_code == wrong_code.status_code == 200
    assert refusal_page(wrong_password) == refusal_page(wrong_code)
    page = refusal_page(wrong_code)
    assert str(REFUSED) in page and "Invalid" not in page and PASSWORD not in page and "otp_device" not in page
    assert "_auth_user_id" not in client.session


def test_a_login_without_a_device_or_a_client_reads_like_a_wrong_password_too(client, privacy_officer, owner):
    wrong_password = client.post("/admin/login/", {"username": privacy_officer.email, "password": "wrong-guess-123",
                                                   "otp_token": "123456", "next": "/admin/"})
    no_device = admin_log_in(client, privacy_officer, "123456")
    assert refusal_page(wrong_password) == refusal_page(no_device)
    client_page = refusal_page(admin_log_in(client, owner.user, "123456"))
    assert client_page == refusal_page(client.post("/admin/login/", {"username": owner.email, "password": "wrong-guess-1",
                                                                     "otp_token": "123456", "next": "/admin/"}))


def test_wrong_codes_count_towards_the_lock_out_like_wrong_passwords(client, privacy_officer, settings):
    device = staff_totp_enrol(user=privacy_officer)
    wrong = "999999" if code(device) == "000000" else "000000"
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        password = PASSWORD if attempt % 2 else "wrong-guess-123"
        client.post("/admin/login/", {"username": privacy_officer.email, "password": password, "otp_token": wrong})
    device.refresh_from_db()
    device.throttle_reset()  # django-otp's own throttle aside: the lock-out is what refuses the right code now
    response = admin_log_in(client, privacy_officer, code(device))
    assert response.status_code == 429 and "locked" in response.content.decode().lower()
    assert "_auth_user_id" not in client.session


def test_only_wrong_codes_lock_the_staff_login_out_too(client, privacy_officer, settings):
    device = staff_totp_enrol(user=privacy_officer)
    wrong = "999999" if code(device) == "000000" else "000000"
    for _ in range(settings.AXES_FAILURE_LIMIT):
        admin_log_in(client, privacy_officer, wrong)
    device.refresh_from_db()
    device.throttle_reset()
    assert admin_log_in(client, privacy_officer, code(device)).status_code == 429
