"""SSRF (issue #19): private, loopback and link-local destinations are refused when an endpoint is saved and again
at send time, after DNS resolution; plain http only where private networks are allowed (tests, development)."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from webhooks.delivery import deliveries_sweep
from webhooks.destinations import DestinationRefused, destination_resolve
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.services import endpoint_create

from .helpers import client_held_by, recipient_with_endpoint, withdraw

pytestmark = pytest.mark.django_db

REFUSED = ["https://127.0.0.1/hooks", "https://10.0.0.1/hooks", "https://169.254.169.254/latest/meta-data/",
           "https://[::1]/hooks", "https://localhost/hooks", "https://192.168.1.20/hooks", "https://[::ffff:127.0.0.1]/",
           "https://0.0.0.0/", "https://100.64.0.1/", "https://[fe80::1]/", "https://[fd00::1]/",
           # IPv6 forms that lead to an internal IPv4 address: NAT64, 6to4, IPv4-compatible, SIIT; and site-local
           "https://[64:ff9b::a9fe:a9fe]/", "https://[64:ff9b::7f00:1]/", "https://[2002:a9fe:a9fe::1]/",
           "https://[2002:7f00:1::1]/", "https://[::127.0.0.1]/", "https://[::ffff:0:7f00:1]/", "https://[fec0::1]/",
           "https://2130706433/", "https://0x7f000001/"]


def test_an_ipv6_address_leading_to_a_public_ipv4_address_or_plainly_public_is_allowed():
    from webhooks.destinations import address_is_public

    assert address_is_public("64:ff9b::5db8:d70e") and address_is_public("2002:5db8:d70e::1")  # 93.184.215.14
    assert address_is_public("2606:4700:4700::1111") and address_is_public("93.184.215.14")


@pytest.mark.parametrize("url", REFUSED)
def test_a_private_loopback_or_link_local_destination_is_refused_at_save(url):
    from tests.sharing.conftest import make_affiliate

    affiliate = make_affiliate("Ads Network")
    with pytest.raises(ValidationError) as refused:
        endpoint_create(affiliate=affiliate, url=url, events=["client.erased"])
    assert "not public" in str(refused.value)
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("url, reason", [
    ("http://example.com/hooks", "must start with https://"),
    ("ftp://example.com/hooks", "must start with https://"),
    ("https://user:pw@example.com/hooks", "user name or password"),
    ("https:///hooks", "no host"),
    ("https://example.com:99999/", "port"),
    ("https://no-such-host.invalid/hooks", "does not resolve"),
])
def test_a_url_that_is_not_a_public_https_address_is_refused_with_the_reason(url, reason):
    with pytest.raises(DestinationRefused) as refused:
        destination_resolve(url)
    assert reason in str(refused.value)


def test_a_destination_allowed_at_save_but_private_at_send_is_not_contacted(receiver, private_networks,
                                                                            django_capture_on_commit_callbacks):
    """The endpoint was saved while private networks were allowed (think: a name that resolved to a public address
    then); at send time its address is loopback and nothing is sent: the delivery waits, with the reason."""
    affiliate, endpoint, _secret = recipient_with_endpoint(receiver.url)
    client = client_held_by(affiliate)
    private_networks.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    private_networks.DEBUG = True  # plain http allowed, so that it is the address that is refused
    with django_capture_on_commit_callbacks(execute=True):
        withdraw(client, affiliate)
    assert receiver.received == []
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert delivery.status == "pending" and "not public" in delivery.last_error
    assert "not public" in WebhookAttempt.objects.get(delivery=delivery).error


def test_a_redirect_is_not_followed(receiver, private_networks, django_capture_on_commit_callbacks):
    affiliate, endpoint, _secret = recipient_with_endpoint(receiver.url)
    receiver.status = 302
    with django_capture_on_commit_callbacks(execute=True):
        withdraw(client_held_by(affiliate), affiliate)
    assert len(receiver.received) == 1
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (delivery.status, delivery.last_status_code) == ("pending", 302)


def test_private_networks_allowed_outside_debug_fails_the_deploy_check(settings):
    from webhooks.checks import private_networks_not_in_production

    settings.DEBUG, settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False, True
    assert [e.id for e in private_networks_not_in_production(None)] == ["webhooks.E001"]
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False
    assert private_networks_not_in_production(None) == []
    deliveries_sweep(now=timezone.now())  # nothing to do, nothing breaks
