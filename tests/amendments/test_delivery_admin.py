"""The notices of a published version in the admin: how far they have gone, which failed and why, and a resend."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.services import staff_user_ensure
from amendments.models import NoticeDelivery
from amendments.services import notice_period, policy_draft_save, policy_publish
from tests.conftest import PASSWORD, make_client

pytestmark = pytest.mark.django_db
Status = NoticeDelivery.Status


def deliveries_url(version):
    return reverse("admin:amendments_policyversion_deliveries", args=[version.pk])


def resend_url(version):
    return reverse("admin:amendments_policyversion_deliveries_resend", args=[version.pk])


def published_to(n_clients, *, without_phone=0, label="2.0"):
    """A version published to `n_clients` clients, the last `without_phone` of them without a mobile number."""
    for i in range(n_clients):
        make_client(f"client{i}@example.com", phone="" if i >= n_clients - without_phone else f"+49 151 2345{i:04d}")
    draft = policy_draft_save(label=label, body_en=f"# Policy {label}\n\nClearer words.", is_material=False)
    now = timezone.now()
    return policy_publish(version=draft, effective_at=now + notice_period(material=False), now=now)


def fail(version, emails, *, channel="email", reason="Mailbox unavailable (550)."):
    return NoticeDelivery.objects.filter(version=version, channel=channel, client__email__in=emails).update(
        status=Status.FAILED, reason=reason, attempts=5)


def counts_row(html, channel) -> list[str]:
    row = re.search(rf'<tr class="channel-{channel}">(.*?)</tr>', html, re.S).group(1)
    return re.findall(r"<td>(\d+)</td>", row)


def test_a_privacy_officer_sees_counts_and_progress_per_channel(client, privacy_officer):
    version = published_to(4, without_phone=1)
    fail(version, ["client0@example.com"])
    NoticeDelivery.objects.filter(version=version, channel="email", client__email="client1@example.com").update(
        status=Status.SENT)
    NoticeDelivery.objects.filter(version=version, channel="sms", client__email="client2@example.com").update(
        status=Status.CLAIMED)
    client.force_login(privacy_officer)

    change = client.get(reverse("admin:amendments_policyversion_change", args=[version.pk])).content.decode()
    assert f'href="{deliveries_url(version)}"' in change
    html = client.get(deliveries_url(version)).content.decode()
    # Columns: queued, being sent, sent, failed, skipped, total.
    assert counts_row(html, "email") == ["2", "0", "1", "1", "0", "4"]
    assert counts_row(html, "sms") == ["2", "1", "0", "0", "1", "4"]
    assert '<progress id="progress-email" value="2" max="4">' in html and "2 of 4 (50%)" in html
    assert '<progress id="progress-sms" value="1" max="4">' in html and "1 of 4 (25%)" in html
    assert '<meta http-equiv="refresh" content="5">' in html  # still sending
    assert "style=" not in re.search(r'<div id="content-main">.*', html, re.S).group(0)  # the CSP allows no inline style

    NoticeDelivery.objects.filter(version=version, status__in=[Status.QUEUED, Status.CLAIMED]).update(status=Status.SENT)
    html = client.get(deliveries_url(version)).content.decode()
    assert html.count("4 of 4 (100%)") == 2 and '<progress id="progress-email" value="4" max="4">' in html
    assert 'http-equiv="refresh"' not in html  # finished: nothing left to watch


def test_failed_deliveries_are_listed_with_their_reason(client, privacy_officer):
    version = published_to(3)
    fail(version, ["client1@example.com"], channel="sms", reason="Twilio: number unreachable (21614).")
    client.force_login(privacy_officer)
    html = client.get(deliveries_url(version)).content.decode()
    failed = re.search(r'<table id="failed-deliveries">(.*?)</table>', html, re.S).group(1)
    assert "client1@example.com" in failed and "Twilio: number unreachable (21614)." in failed
    assert str(NoticeDelivery.objects.get(version=version, channel="sms", status=Status.FAILED).client.public_id) in failed
    assert "client0@example.com" not in failed and "<td>5</td>" in failed
    assert 'value="Resend failed deliveries"' in html


def test_resend_puts_failed_deliveries_back_in_the_queue_without_new_rows(client, privacy_officer, monkeypatch,
                                                                          django_capture_on_commit_callbacks):
    started = []
    monkeypatch.setattr("amendments.admin_views.send_notices_soon", lambda *args: started.append(args))
    version = published_to(3, without_phone=1)
    fail(version, ["client0@example.com", "client1@example.com"])
    rows_before = NoticeDelivery.objects.count()
    client.force_login(privacy_officer)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(resend_url(version), follow=True)
    assert response.redirect_chain[-1][0] == deliveries_url(version)
    assert "2 failed deliveries queued again" in response.content.decode()
    assert started == [(version.pk, "notice")]
    assert NoticeDelivery.objects.count() == rows_before
    assert not NoticeDelivery.objects.filter(status=Status.FAILED).exists()
    again = NoticeDelivery.objects.filter(version=version, channel="email",
                                          client__email__in=["client0@example.com", "client1@example.com"])
    assert {(d.status, d.attempts, d.reason) for d in again} == {(Status.QUEUED, 0, "")}

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(resend_url(version), follow=True)  # twice: nothing more to do, nothing added
    assert "0 failed deliveries queued again" in response.content.decode()
    assert NoticeDelivery.objects.count() == rows_before


def test_a_support_agent_sees_the_notices_but_may_not_resend(client, support_agent):
    version = published_to(2)
    fail(version, ["client0@example.com"])
    client.force_login(support_agent)
    html = client.get(deliveries_url(version)).content.decode()
    assert "client0@example.com" in html and "Resend failed deliveries" not in html
    assert client.post(resend_url(version)).status_code == 403
    assert NoticeDelivery.objects.filter(status=Status.FAILED).count() == 1


def test_a_client_login_is_refused_by_the_admin(client, outsider):
    version = published_to(2)
    fail(version, ["client0@example.com"])
    client.force_login(outsider.user)
    for url in [deliveries_url(version), reverse("admin:amendments_noticedelivery_changelist")]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login")), url
    assert client.post(resend_url(version)).status_code == 302
    assert NoticeDelivery.objects.filter(status=Status.FAILED).count() == 1


def test_a_draft_has_no_notices_page(client, privacy_officer):
    draft = policy_draft_save(label="3.0", body_en="Draft.")
    client.force_login(privacy_officer)
    response = client.get(deliveries_url(draft))
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:amendments_policyversion_change", args=[draft.pk])
    assert client.post(resend_url(draft)).status_code == 404


def test_the_notices_page_takes_the_same_number_of_queries_for_3_and_30_clients(client, privacy_officer,
                                                                                 django_assert_max_num_queries):
    small = published_to(3, label="2.0")
    fail(small, ["client0@example.com", "client1@example.com"])
    client.force_login(privacy_officer)
    client.get(deliveries_url(small))  # warm the caches (content types, permissions) before counting
    with CaptureQueriesContext(connection) as few:
        assert client.get(deliveries_url(small)).status_code == 200

    for i in range(3, 30):
        make_client(f"client{i}@example.com", phone="" if i % 3 else f"+49 151 2345{i:04d}")
    now = timezone.now()
    large = policy_publish(version=policy_draft_save(label="3.0", body_en="Three."),
                           effective_at=now + notice_period(material=False), now=now)
    fail(large, [f"client{i}@example.com" for i in range(0, 30, 2)])
    fail(large, [f"client{i}@example.com" for i in range(0, 30, 3)], channel="sms")
    with django_assert_max_num_queries(len(few)):
        html = client.get(deliveries_url(large)).content.decode()
    assert html.count("Mailbox unavailable (550).") == 15 + 10


def test_every_delivery_is_listed_read_only_filterable_and_searchable(client, django_assert_max_num_queries):
    version = published_to(3, without_phone=1)
    fail(version, ["client1@example.com"])
    admin = staff_user_ensure(email="root@example.com", password=PASSWORD, groups=[], superuser=True)
    client.force_login(admin)
    changelist = reverse("admin:amendments_noticedelivery_changelist")
    client.get(changelist)
    with django_assert_max_num_queries(12):
        html = client.get(changelist, {"version__id__exact": version.pk, "status__exact": "failed"}).content.decode()
    assert "client1@example.com" in html and "client0@example.com" not in html
    html = client.get(changelist, {"q": "client2@", "channel__exact": "sms", "kind__exact": "notice"}).content.decode()
    assert "client2@example.com" in html and "No mobile number on file." in html and "client0@example.com" not in html
    delivery = NoticeDelivery.objects.filter(version=version).first()
    assert client.get(reverse("admin:amendments_noticedelivery_add")).status_code == 403
    assert client.post(reverse("admin:amendments_noticedelivery_delete", args=[delivery.pk]), {"post": "yes"}).status_code == 403
    assert NoticeDelivery.objects.filter(pk=delivery.pk).exists()
