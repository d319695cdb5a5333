"""The webhook log does not keep clients' corrected values nor the recipients' answers for ever (issue #19): the
retention job wipes them RETENTION_MESSAGE_MONTHS after the event; the event and each delivery's outcome stay."""

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEvent

from .helpers import client_held_by, recipient_with_endpoint

pytestmark = pytest.mark.django_db


def retention_line(capsys, *args) -> str:
    call_command("enforce_retention", *args)
    return next(line for line in capsys.readouterr().out.splitlines() if line.split()[:1] == ["webhook_log"])


def test_corrected_values_and_answers_go_after_the_message_retention_and_the_proof_stays(
        receiver, private_networks, django_capture_on_commit_callbacks, capsys, settings):
    from sharing.services import rectified_notices_create

    affiliate, _endpoint, _secret = recipient_with_endpoint(receiver.url)
    client = client_held_by(affiliate, fields=("email",))
    receiver.body = b'{"received": "corrected@example.com"}'
    client.email = "corrected@example.com"
    client.save(update_fields=["email"])
    with django_capture_on_commit_callbacks(execute=True):
        rectified_notices_create(client=client, categories={"email"}, at=timezone.now())
    event = WebhookEvent.objects.get(type="client.rectified")
    assert event.payload["data"]["values"] == {"email": "corrected@example.com"}

    later = event.created_at + timedelta(days=31 * settings.RETENTION_MESSAGE_MONTHS)
    with time_machine.travel(event.created_at + timedelta(days=30), tick=False):
        assert "anonymised: 0;" in retention_line(capsys)
    with time_machine.travel(later, tick=False):
        assert "would anonymise: 1;" in retention_line(capsys, "--dry-run")
        assert event.payload == WebhookEvent.objects.get(pk=event.pk).payload  # the dry run changed nothing
        assert "anonymised: 1;" in retention_line(capsys)
        assert "anonymised: 0;" in retention_line(capsys)  # a second run finds nothing
    event.refresh_from_db()
    assert "values" not in event.payload["data"] and event.payload["data"]["fields"] == ["email"]
    assert set(WebhookAttempt.objects.values_list("response_excerpt", flat=True)) == {""}
    assert WebhookDelivery.objects.get(event=event).status == "delivered"
