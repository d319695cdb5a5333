"""Clients get at least TRANSFER_MIN_OBJECTION_DAYS (30) between the announcement and the objection deadline: a
shorter deadline is refused by the service and shown on the admin form, and announcing late is refused too."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.urls import reverse
from django.utils import timezone

from notify.models import OutboundMessage
from transfers.models import BusinessTransfer
from transfers.services import transfer_publish

from .conftest import draft
from .test_admin import form_data

pytestmark = pytest.mark.django_db


def test_objection_deadline_shorter_than_the_minimum_is_refused(privacy_officer, client, settings):
    today = timezone.localdate()
    with pytest.raises(ValidationError) as refused:
        draft(privacy_officer, objection_deadline=today + timedelta(days=29), handover_on=today + timedelta(days=40))
    assert "at least 30 days" in refused.value.message_dict["objection_deadline"][0]

    client.force_login(privacy_officer)
    page = client.post(reverse("admin:transfers_businesstransfer_add"),
                       form_data(objection_deadline=str(today + timedelta(days=29))))
    assert page.status_code == 200 and not BusinessTransfer.objects.exists()
    assert "at least 30 days after the announcement" in page.content.decode()
    assert (today + timedelta(days=30)).isoformat() in page.content.decode()  # the earliest day allowed

    settings.TRANSFER_MIN_OBJECTION_DAYS = 10
    assert draft(privacy_officer, objection_deadline=today + timedelta(days=10)).pk


def test_a_draft_announced_too_late_for_the_minimum_period_is_refused_and_tells_nobody(privacy_officer, legal, owner):
    transfer = draft(privacy_officer)  # deadline in 30 days: fine today
    with time_machine.travel(timezone.now() + timedelta(days=5)):
        with pytest.raises(ValidationError, match="at least 30 days"):
            transfer_publish(transfer=transfer, approver=legal)
    transfer.refresh_from_db()
    assert transfer.status == BusinessTransfer.Status.DRAFT and not transfer.subjects.exists()
    assert not OutboundMessage.objects.exists()


def test_a_minimum_objection_period_below_one_day_is_a_configuration_error(privacy_officer, settings):
    settings.TRANSFER_MIN_OBJECTION_DAYS = 0
    with pytest.raises(ImproperlyConfigured, match="TRANSFER_MIN_OBJECTION_DAYS"):
        draft(privacy_officer)
