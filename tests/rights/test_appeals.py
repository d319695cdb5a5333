"""Appeals of refused requests (VCDPA §59.1-577(C); Colorado CPA 6-1-1306(3)): within a window, one per request,
decided by someone other than who refused, and an upheld refusal names the authority to complain to."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone

from accounts.services import staff_user_ensure
from rights.appeals import appeal_decide, appeal_open
from rights.intake import public_request_submit, public_request_verify
from rights.models import DataSubjectRequest, RequestAppeal
from rights.services import request_close, request_open
from rights.verification import verification_token_make
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db
Status = DataSubjectRequest.Status


@pytest.fixture
def second_officer(db):
    return staff_user_ensure(email="privacy2@example.com", password=PASSWORD, groups=["Privacy officers"])


def refused(capture, *, client=None, by, reason="We hold no data under this name."):
    with capture(execute=True):
        if client is not None:
            dsr = request_open(kind="access", channel="portal", client=client)
        else:
            dsr = public_request_submit(name="Pat Public", email="pat@example.com", kind="access", details="")
            dsr, _ = public_request_verify(token=verification_token_make(request=dsr))
        return request_close(request=dsr, status=Status.REFUSED, refusal_reason=reason, actor=by)


def appeal_path(message) -> str:
    link = re.search(r"https?://\S+/requests/appeal/\S+/", message.body).group(0)
    return "/" + link.split("/", 3)[3]


def test_a_refused_request_can_be_appealed_within_the_window(client, django_capture_on_commit_callbacks,
                                                                privacy_officer, settings):
    dsr = refused(django_capture_on_commit_callbacks, by=privacy_officer)
    refusal = mail.outbox[-1]
    assert "appeal" in refusal.body and str(settings.RIGHTS_APPEAL_DAYS) in refusal.body
    path = appeal_path(refusal)
    assert "Appeal the refusal" in client.get(path).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(path, {"grounds": "I have orders under this address."})
    assert response.status_code == 302
    appeal = RequestAppeal.objects.get()
    assert (appeal.request, appeal.channel, appeal.refused_by) == (dsr, "link", privacy_officer)
    assert appeal.due_on == timezone.localdate() + timedelta(days=settings.RIGHTS_APPEAL_DAYS)
    assert mail.outbox[-1].to == ["pat@example.com"] and "We received your appeal" in mail.outbox[-1].subject
    assert "Your appeal" in client.get(path).content.decode()

    # Appealing twice changes nothing: one appeal, no second e-mail.
    sent = len(mail.outbox)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(path, {"grounds": "Again."})
    assert RequestAppeal.objects.count() == 1 and len(mail.outbox) == sent

    # It is in the admin's appeal queue.
    client.force_login(privacy_officer)
    queue = client.get(reverse("admin:rights_requestappeal_changelist")).content.decode()
    assert str(dsr.public_id)[:8].upper() in queue


def test_an_appeal_after_the_window_is_refused(client, django_capture_on_commit_callbacks, privacy_officer, settings):
    refused(django_capture_on_commit_callbacks, by=privacy_officer)
    path = appeal_path(mail.outbox[-1])

    with time_machine.travel(timezone.now() + timedelta(days=settings.RIGHTS_APPEAL_WINDOW_DAYS + 1)):
        response = client.post(path, {"grounds": "Late."})
    assert response.status_code == 400 and "ended on" in response.content.decode()
    assert not RequestAppeal.objects.exists()


def test_an_appeal_is_decided_by_someone_other_than_who_refused(client, django_capture_on_commit_callbacks,
                                                                 privacy_officer, second_officer, owner):
    dsr = refused(django_capture_on_commit_callbacks, client=owner, by=privacy_officer)
    appeal, _ = appeal_open(request=dsr, grounds="", channel="portal", client=owner)
    decide = reverse("admin:rights_requestappeal_decide", args=[appeal.pk])

    client.force_login(privacy_officer)
    page = client.get(decide).content.decode()
    assert "decided by someone else" in page
    response = client.post(decide, {"outcome": "reversed", "decision_reason": "I was wrong."})
    assert response.status_code == 400 and "decided by someone else" in response.content.decode()
    with pytest.raises(PermissionDenied):
        appeal_decide(appeal=appeal, outcome="reversed", reason="I was wrong.", actor=privacy_officer)
    assert RequestAppeal.objects.get().status == "open"

    client.force_login(second_officer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(decide, {"outcome": "reversed", "decision_reason": "The orders are ours to find."})
    assert response.status_code == 302
    appeal.refresh_from_db()
    assert (appeal.status, appeal.decided_by) == ("reversed", second_officer)
    dsr.refresh_from_db()
    assert dsr.status == Status.IN_PROGRESS and dsr.due_on == appeal.due_on and dsr.completed_at is None
    assert "reversed" in mail.outbox[-1].subject and mail.outbox[-1].to == [owner.email]
    # A support agent may read appeals but decides none.
    support = staff_user_ensure(email="support@example.com", password=PASSWORD, groups=["Support agents"])
    client.force_login(support)
    assert client.get(decide).status_code == 403


def test_an_upheld_appeal_tells_how_to_complain_to_the_regulator(django_capture_on_commit_callbacks, privacy_officer,
                                                                  second_officer, owner):
    dsr = refused(django_capture_on_commit_callbacks, client=owner, by=privacy_officer)  # the owner lives in Germany
    appeal, _ = appeal_open(request=dsr, grounds="Please look again.", channel="portal", client=owner)

    with django_capture_on_commit_callbacks(execute=True):
        appeal_decide(appeal=appeal, outcome="upheld", reason="The data was erased last year.", actor=second_officer)

    decision = mail.outbox[-1]
    assert decision.to == [owner.email] and "upheld" in decision.subject
    assert "The data was erased last year." in decision.body
    assert "supervisory authority" in decision.body and "edpb.europa.eu" in decision.body
    assert DataSubjectRequest.objects.get().status == Status.REFUSED
    # A US requester without an account is pointed to the Attorney General.
    other = refused(django_capture_on_commit_callbacks, by=privacy_officer)
    appeal, _ = appeal_open(request=other, grounds="", channel="link")
    with django_capture_on_commit_callbacks(execute=True):
        appeal_decide(appeal=appeal, outcome="upheld", reason="Not verified.", actor=second_officer)
    assert "Attorney General" in mail.outbox[-1].body and mail.outbox[-1].to == ["pat@example.com"]


def test_outsider_cannot_appeal_another_clients_request(client, django_capture_on_commit_callbacks, privacy_officer,
                                                        owner, outsider):
    dsr = refused(django_capture_on_commit_callbacks, client=owner, by=privacy_officer)
    page = reverse("rights:request_detail", args=[dsr.public_id])
    appeal_url = reverse("rights:request_appeal", args=[dsr.public_id])
    # The refusal e-mail sends a client to the request's page in the portal.
    assert page in mail.outbox[-1].body

    client.force_login(outsider.user)
    assert client.get(page).status_code == 404
    assert client.post(appeal_url, {"grounds": "Mine!"}).status_code == 404
    with pytest.raises(PermissionDenied):
        appeal_open(request=dsr, grounds="", channel="portal", client=outsider)
    # A link made for someone else's request, or a forged one, is no use either.
    assert client.post(reverse("rights:appeal_by_link", args=["forged-token"]), {"grounds": "x"}).status_code == 400
    client.logout()
    assert "/login/" in client.post(appeal_url, {"grounds": "x"})["Location"]
    assert not RequestAppeal.objects.exists()

    client.force_login(owner.user)
    assert "Appeal the refusal" in client.get(page).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(appeal_url, {"grounds": "Mine."}).status_code == 302
    assert RequestAppeal.objects.get().request == dsr
