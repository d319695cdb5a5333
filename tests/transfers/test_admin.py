"""The admin: privacy officers and Legal record and announce (four eyes, refused in the service), support agents see
nothing."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from transfers.models import BusinessTransfer

from .conftest import ACQUIRER, acquirer_recipient, draft

pytestmark = pytest.mark.django_db


def form_data(**changes):
    today = timezone.localdate()
    return {"kind": "merger", "acquirer_name": ACQUIRER, "acquirer_contact_name": "Mei Chan",
            "acquirer_contact_email": "privacy@harbour.example", "acquirer_address": "1 Harbour Road",
            "acquirer_country": "HK", "data_categories": ["name", "email"], "scope_countries": ["DE"],
            "handover_on": str(today + timedelta(days=40)), "objection_deadline": str(today + timedelta(days=30)),
            "new_purpose_en": "", "new_purpose_zh_hans": "", **changes}


def test_a_privacy_officer_records_a_transfer_and_only_another_may_announce_it(client, privacy_officer, legal, owner):
    client.force_login(privacy_officer)
    response = client.post(reverse("admin:transfers_businesstransfer_add"), form_data(affiliate=acquirer_recipient().pk))
    assert response.status_code == 302
    transfer = BusinessTransfer.objects.get()
    assert transfer.recorded_by == privacy_officer and transfer.scope_countries == ["DE"]
    publish = reverse("admin:transfers_businesstransfer_publish", args=[transfer.pk])
    refused = client.post(publish)
    assert refused.status_code == 200 and "cannot also announce it" in refused.content.decode()
    client.force_login(legal)
    assert client.post(publish).status_code == 302
    transfer.refresh_from_db()
    assert transfer.status == BusinessTransfer.Status.PUBLISHED and transfer.subjects.count() == 1
    page = client.get(reverse("admin:transfers_businesstransfer_change", args=[transfer.pk])).content.decode()
    assert 'name="_save"' not in page and "Audit trail" in page


def test_bad_input_in_the_admin_form_is_shown_and_saves_nothing(client, privacy_officer):
    client.force_login(privacy_officer)
    response = client.post(reverse("admin:transfers_businesstransfer_add"),
                           form_data(changes_purpose="on", handover_on=str(timezone.localdate())))
    assert response.status_code == 200 and not BusinessTransfer.objects.exists()
    assert "Simplified Chinese" in response.content.decode()


def test_support_agents_see_no_transfer_in_the_admin(client, support_agent, privacy_officer):
    transfer = draft(privacy_officer)
    client.force_login(support_agent)
    for url in (reverse("admin:transfers_businesstransfer_changelist"),
                reverse("admin:transfers_businesstransfer_change", args=[transfer.pk]),
                reverse("admin:transfers_businesstransfer_publish", args=[transfer.pk])):
        assert client.get(url).status_code == 403
