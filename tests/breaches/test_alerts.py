"""The overdue alerts, run by a real Celery worker: the privacy officers are e-mailed once per breach when 48 hours
have passed without a notice to the authority, and once more at 72 hours; never twice, whatever runs again."""

import time

import pytest
from django.utils import timezone

from accounts.services import staff_user_ensure
from breaches.models import Breach
from breaches.services import breach_authority_notified
from breaches.tasks import alert_overdue_breaches
from notify.models import OutboundMessage
from tests.conftest import PASSWORD
from tests.workers import wait_for

from .conftest import make_breach

pytestmark = pytest.mark.django_db(transaction=True)


def mailed(mail_dir):
    return [chunk for path in mail_dir.glob("*.log") for chunk in path.read_text().split("-" * 79) if "Breach BR-" in chunk]


def test_privacy_officers_are_alerted_once_at_48_and_once_at_72_hours_by_a_real_worker(celery_worker, mail_dir):
    officer = staff_user_ensure(email="privacy@example.com", password=PASSWORD, groups=["Privacy officers"])
    staff_user_ensure(email="privacy2@example.com", password=PASSWORD, groups=["Privacy officers"])
    staff_user_ensure(email="support@example.com", password=PASSWORD, groups=["Support agents"])
    fresh = make_breach(officer, hours_ago=20, title="Fresh")
    day_two = make_breach(officer, hours_ago=50, title="Day two")
    overdue = make_breach(officer, hours_ago=80, title="Overdue")
    notified = make_breach(officer, hours_ago=90, title="Notified")
    breach_authority_notified(breach=notified, actor=officer, authority_name="CAC", notified_at=timezone.now(),
                              delay_reason="Forensics")

    alert_overdue_breaches.delay()
    rows = OutboundMessage.objects.filter(kind="breach-alert")
    assert wait_for(lambda: rows.filter(status="sent").count() == 6)
    assert sorted(rows.values_list("to", "subject")) == sorted(
        [(to, f"Breach BR-{day_two.pk:04d}: 48 hours without a notice to the authority")
         for to in ("privacy@example.com", "privacy2@example.com")]
        + [(to, f"Breach BR-{overdue.pk:04d}: {h} hours without a notice to the authority")
           for to in ("privacy@example.com", "privacy2@example.com") for h in (48, 72)])
    assert Breach.objects.get(pk=overdue.pk).alert_72_at and not Breach.objects.get(pk=fresh.pk).alert_48_at

    alert_overdue_breaches.delay()  # the next beat run, and a duplicate one
    alert_overdue_breaches.delay()
    time.sleep(2)
    assert rows.count() == 6 and len(mailed(mail_dir)) == 6
    assert "Overdue by 8 h" in next(c for c in mailed(mail_dir) if "Overdue" in c and "72 hours" in c)
    assert overdue.audit.filter(action="alert").count() == 2
