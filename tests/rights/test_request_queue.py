from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from rights.deadlines import due_date_for
from rights.models import DataSubjectRequest, ResponseDeadlineRule
from rights.services import request_close, request_open
from tests.conftest import make_client

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(("country", "region", "due"), [
    ("DE", "", date(2026, 2, 28)),        # GDPR: one month, clipped to the end of a short month
    ("GB", "", date(2026, 2, 28)),        # UK GDPR: the same
    ("US", "US-CA", date(2026, 3, 17)),   # CCPA: 45 days
    ("CN", "", date(2026, 3, 2)),         # PIPL practice: 30 days
    ("BR", "", date(2026, 3, 2)),         # everyone else: 30 days
])
def test_a_request_is_due_by_the_rule_of_the_clients_jurisdiction(country, region, due):
    phone = {"DE": "+49 151 23456789", "GB": "+44 7400 123456", "US": "+1 415 555 2671", "CN": "+86 139 1234 5678",
             "BR": "+55 11 91234 5678"}[country]
    client = make_client(country=country, region=region, phone=phone)
    request = request_open(kind="access", channel="portal", client=client,
                           received_at=datetime(2026, 1, 31, 10, 0, tzinfo=SHANGHAI))
    assert request.due_on == due


def test_deadline_rules_are_data_a_privacy_officer_can_change():
    ResponseDeadlineRule.objects.filter(jurisdiction="other").update(days=14)
    assert due_date_for(jurisdiction="other", received=date(2026, 5, 1)) == date(2026, 5, 15)


def test_a_request_without_a_client_needs_an_address_to_answer():
    with pytest.raises(ValidationError, match="e-mail address"):
        request_open(kind="question", channel="letter", requester_name="Someone")
    assert not DataSubjectRequest.objects.exists()


def test_a_refusal_needs_a_reason_and_a_closed_request_stays_closed():
    request = request_open(kind="erasure", channel="email", client=make_client(), details="Please erase me.")
    with pytest.raises(ValidationError, match="Say why"):
        request_close(request=request, status="refused")
    request_close(request=request, status="refused", refusal_reason="Identity could not be verified.")
    with pytest.raises(ValidationError, match="already closed"):
        request_close(request=request, status="completed")
    assert request.messages.get(direction="in").body == "Please erase me."
