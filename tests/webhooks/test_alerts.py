"""An endpoint failing for WEBHOOK_ALERT_HOURS in a row is reported to the partner managers by e-mail, once per
outage: the recipient is no longer being told of withdrawals by webhook, so someone must call it."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from accounts.services import staff_user_ensure
from notify.models import OutboundMessage
from tests.conftest import PASSWORD
from webhooks.delivery import deliveries_sweep
from webhooks.models import WebhookDelivery, WebhookEndpoint

from .helpers import client_held_by, recipient_with_endpoint, withdraw

pytestmark = pytest.mark.django_db


@pytest.fixture
def partner_managers(db):
    return [staff_user_ensure(email=f"partners{n}@example.com", password=PASSWORD, groups=["Partner managers"])
            for n in (1, 2)]


def failing_for(endpoint, hours, *, failures=12):
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failures_in_row=failures,
                                                          failing_since=timezone.now() - timedelta(hours=hours))


def alerts():
    return OutboundMessage.objects.filter(kind="webhook-failing")


def test_an_endpoint_failing_for_25_hours_is_reported_once_to_each_partner_manager(
        partner_managers, privacy_officer, receiver, private_networks, django_capture_on_commit_callbacks):
    affiliate, endpoint, _secret = recipient_with_endpoint(receiver.url)
    failing_for(endpoint, 25)
    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_sweep()["alerted"] == 1
    assert sorted(alerts().values_list("to", flat=True)) == ["partners1@example.com", "partners2@example.com"]
    assert sorted(m.to[0] for m in mail.outbox) == ["partners1@example.com", "partners2@example.com"]
    message = mail.outbox[0]
    assert message.subject == "Webhooks to Ads Network failing for 24 hours"
    assert receiver.url in message.body and "12 attempts in a row" in message.body
    assert affiliate.contact_email in message.body
    assert settings.SITE_URL + reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk]) in message.body
    endpoint.refresh_from_db()
    assert endpoint.alerted_at is not None

    with django_capture_on_commit_callbacks(execute=True):
        assert deliveries_sweep()["alerted"] == 0
    assert alerts().count() == 2 and len(mail.outbox) == 2


def test_an_endpoint_failing_for_23_hours_is_not_reported(partner_managers, receiver, private_networks):
    _affiliate, endpoint, _secret = recipient_with_endpoint(receiver.url)
    failing_for(endpoint, 23)
    assert deliveries_sweep()["alerted"] == 0
    assert not alerts().exists()
    endpoint.refresh_from_db()
    assert endpoint.alerted_at is None


def test_a_success_ends_the_outage_and_the_next_one_is_reported_again(
        partner_managers, receiver, private_networks, django_capture_on_commit_callbacks):
    affiliate, endpoint, _secret = recipient_with_endpoint(receiver.url)
    failing_for(endpoint, 25)
    deliveries_sweep()
    assert alerts().count() == 2

    with django_capture_on_commit_callbacks(execute=True):  # the receiver is back: a delivery succeeds
        withdraw(client_held_by(affiliate), affiliate)
    assert WebhookDelivery.objects.get(endpoint=endpoint).status == "delivered"
    endpoint.refresh_from_db()
    assert (endpoint.alerted_at, endpoint.failing_since, endpoint.failures_in_row) == (None, None, 0)

    failing_for(endpoint, 30, failures=3)  # a later outage is a new one
    deliveries_sweep()
    assert alerts().count() == 4


def test_disabled_and_deleted_endpoints_and_staff_outside_the_group_get_nothing(
        partner_managers, privacy_officer, receiver, private_networks):
    _affiliate, endpoint, _secret = recipient_with_endpoint(receiver.url)
    failing_for(endpoint, 48)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=False)
    assert deliveries_sweep()["alerted"] == 0
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=True, deleted_at=timezone.now())
    assert deliveries_sweep()["alerted"] == 0
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(deleted_at=None)
    partner_managers[1].is_active = False
    partner_managers[1].save()
    deliveries_sweep()
    assert list(alerts().values_list("to", flat=True)) == ["partners1@example.com"]
