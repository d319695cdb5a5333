"""The log-in lock-out counts failures against the address every other component sees (accounts.ip.request_ip), so a
header the attacker writes cannot move them to a fresh address (issue #16.6)."""

import pytest
from axes.models import AccessAttempt
from django.urls import reverse

from accounts.models import IPObservation
from accounts.two_factor import staff_totp_device_ensure
from tests.accounts.test_staff_two_factor import code
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.1"
LOGIN_PAGES = {"portal": reverse("login"), "admin": "/admin/login/"}


def log_in(client, page, user, password, **headers):
    """On the admin with the right code of the user's device, so that only the password can be what is wrong."""
    token = code(staff_totp_device_ensure(user)) if page == "admin" else ""
    return client.post(LOGIN_PAGES[page], {"username": user.email, "password": password, "otp_token": token,
                                           "next": "/admin/"}, **headers)


def login_user(page, owner, privacy_officer):
    return owner.user if page == "portal" else privacy_officer


@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_rotating_x_forwarded_for_without_a_trusted_proxy_still_locks_the_real_address(client, owner, privacy_officer,
                                                                                        settings, page):
    user = login_user(page, owner, privacy_officer)
    for n in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, page, user, "wrong-guess-123", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    response = log_in(client, page, user, PASSWORD, REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="203.0.113.99")
    assert response.status_code == 429 and "_auth_user_id" not in client.session
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.7"}


def test_without_a_trusted_proxy_another_address_is_not_locked_by_someone_elses_failures(client, owner, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "portal", owner.user, "wrong-guess-123", REMOTE_ADDR="198.51.100.7")
    assert log_in(client, "portal", owner.user, PASSWORD, REMOTE_ADDR="198.51.100.8").status_code == 302


@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_behind_one_proxy_a_client_rotating_a_spoofed_left_part_is_still_locked(client, owner, privacy_officer,
                                                                                settings, page):
    settings.IP_PROXY_COUNT = 1
    user = login_user(page, owner, privacy_officer)
    for n in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, page, user, "wrong-guess-123", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 203.0.113.5")
    response = log_in(client, page, user, PASSWORD, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="192.0.2.99, 203.0.113.5")
    assert response.status_code == 429 and "_auth_user_id" not in client.session
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.5"}


@pytest.mark.parametrize("page", LOGIN_PAGES)
def test_behind_one_proxy_two_clients_do_not_lock_each_other_out(client, owner, privacy_officer, settings, page):
    settings.IP_PROXY_COUNT = 1
    user = login_user(page, owner, privacy_officer)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, page, user, "wrong-guess-123", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert log_in(client, page, user, PASSWORD, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.5").status_code == 429
    response = log_in(client, page, user, PASSWORD, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="203.0.113.6")
    assert response.status_code == 302 and "_auth_user_id" in client.session


def test_the_lock_out_and_the_ip_observation_name_the_same_address(client, owner, settings):
    settings.IP_PROXY_COUNT = 1
    log_in(client, "portal", owner.user, "wrong-guess-123", REMOTE_ADDR=PROXY,
           HTTP_X_FORWARDED_FOR="192.0.2.1, 203.0.113.5")
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["203.0.113.5"]
    log_in(client, "portal", owner.user, PASSWORD, REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="192.0.2.2, 203.0.113.5")
    assert list(IPObservation.objects.filter(client=owner).values_list("ip_address", flat=True)) == ["203.0.113.5"]


def test_behind_listed_proxies_the_first_unlisted_address_from_the_right_is_the_clients(client, owner, settings):
    settings.IP_TRUSTED_PROXIES = ["10.0.0.0/8"]
    log_in(client, "portal", owner.user, PASSWORD, REMOTE_ADDR="10.0.0.2",
           HTTP_X_FORWARDED_FOR="192.0.2.66, 203.0.113.9, 10.1.2.3")
    client.post(reverse("logout"))
    log_in(client, "portal", owner.user, PASSWORD, REMOTE_ADDR="192.0.2.77", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert sorted(IPObservation.objects.filter(client=owner).values_list("ip_address", flat=True)) == [
        "192.0.2.77", "203.0.113.9"]  # a socket that is no listed proxy is believed, its header is not
