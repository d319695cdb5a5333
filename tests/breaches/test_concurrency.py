"""Two privacy officers approving the same notice at once, and two beat runs at once, still message each client and
officer exactly once: the breach row's lock serialises them."""

import pytest
from django.core.exceptions import ValidationError

from accounts.services import staff_user_ensure
from breaches.alerts import overdue_breaches_alert
from breaches.services import breach_notice_request, breach_notice_send, breach_subjects_select
from notify.models import OutboundMessage
from tests.conftest import PASSWORD, make_client
from tests.threads import run_in_parallel

from .conftest import make_breach

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_approvals_at_once_send_the_client_notice_once(settings):
    settings.SMS_URL = "memory:"
    officer = staff_user_ensure(email="privacy@example.com", password=PASSWORD, groups=["Privacy officers"])
    approvers = [staff_user_ensure(email=f"privacy{i}@example.com", password=PASSWORD, groups=["Privacy officers"])
                 for i in (2, 3)]
    clients = [make_client(f"c{i}@example.com") for i in range(5)]
    breach = make_breach(officer)
    breach_subjects_select(breach=breach, actor=officer, scope="client-list",
                           client_text=" ".join(str(c.public_id) for c in clients))
    breach_notice_request(breach=breach, actor=officer)
    outcomes = []

    def approve(user):
        try:
            outcomes.append(breach_notice_send(breach=breach, approver=user))
        except ValidationError:
            outcomes.append("refused")

    run_in_parallel([lambda u=u: approve(u) for u in approvers])
    assert sorted(outcomes, key=str) == [5, "refused"]
    assert OutboundMessage.objects.filter(kind="breach-notice").count() == 10


def test_two_beat_runs_at_once_alert_each_officer_once():
    officer = staff_user_ensure(email="privacy@example.com", password=PASSWORD, groups=["Privacy officers"])
    make_breach(officer, hours_ago=60)
    run_in_parallel([overdue_breaches_alert, overdue_breaches_alert])
    assert OutboundMessage.objects.filter(kind="breach-alert").count() == 1
