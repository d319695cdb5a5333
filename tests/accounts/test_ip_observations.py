import pytest
from django.urls import reverse

from accounts.models import IPObservation
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_records_the_clients_ip_address(client, owner):
    client.post(reverse("login"), {"username": owner.email, "password": PASSWORD}, REMOTE_ADDR="198.51.100.7")
    seen = IPObservation.objects.get(client=owner, ip_address="198.51.100.7")
    assert seen.last_context == IPObservation.Context.LOGIN
    assert seen.first_seen == seen.last_seen


def test_a_second_login_from_the_same_address_moves_last_seen_only(client, owner):
    client.post(reverse("login"), {"username": owner.email, "password": PASSWORD}, REMOTE_ADDR="198.51.100.7")
    first = IPObservation.objects.get(client=owner, ip_address="198.51.100.7")
    client.post(reverse("logout"))
    client.post(reverse("login"), {"username": owner.email, "password": PASSWORD}, REMOTE_ADDR="198.51.100.7")
    again = IPObservation.objects.get(client=owner, ip_address="198.51.100.7")
    assert again.first_seen == first.first_seen and again.last_seen > first.last_seen
    assert IPObservation.objects.filter(client=owner).count() == 1


def test_forwarded_for_header_is_not_trusted_without_a_configured_proxy(client, owner):
    client.post(reverse("login"), {"username": owner.email, "password": PASSWORD},
                REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert list(IPObservation.objects.filter(client=owner).values_list("ip_address", flat=True)) == ["198.51.100.7"]


def test_forwarded_for_header_is_used_behind_a_trusted_proxy(client, owner, settings):
    settings.IP_TRUSTED_PROXIES = ["10.0.0.2"]
    client.post(reverse("login"), {"username": owner.email, "password": PASSWORD},
                REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9, 10.0.0.2")
    assert IPObservation.objects.filter(client=owner, ip_address="203.0.113.9").exists()


def test_staff_logins_record_no_client_ip(client, privacy_officer):
    client.post(reverse("login"), {"username": privacy_officer.email, "password": PASSWORD}, REMOTE_ADDR="198.51.100.8")
    assert not IPObservation.objects.exists()
