"""Authorised agents (11 CCR §7063): a request for a client, with the client's signed permission, that waits for the
client's confirmation, answered to the client only."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from accounts.models import StaffAccess
from accounts.services import staff_user_ensure
from rights.agents import agent_requests_expire
from rights.models import AuthorisedAgent, DataSubjectRequest, RequestClockPause
from tests.conftest import PASSWORD, make_client

pytestmark = pytest.mark.django_db
FORM = reverse("rights:public_request_new")
Status = DataSubjectRequest.Status
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def agent_data(**overrides):
    return {"name": "Alex Agent", "email": "alex@agency.example", "kind": "access", "details": "All my orders.",
            "as_agent": "on", "client_name": "Carla Client", "client_email": "carla@example.com",
            "permission": SimpleUploadedFile("signed.pdf", PDF, content_type="application/pdf"), **overrides}


def submit(client, capture, **overrides):
    with capture(execute=True):
        return client.post(FORM, agent_data(**overrides))


def confirm_path(message) -> str:
    link = re.search(r"https?://\S+/requests/agent/\S+/", message.body).group(0)
    return "/" + link.split("/", 3)[3]


def test_an_authorised_agent_files_with_signed_permission_and_nothing_happens_until_the_client_confirms(
        client, django_capture_on_commit_callbacks):
    response = submit(client, django_capture_on_commit_callbacks)

    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "carla@example.com" in page and "not to you" in page
    dsr = DataSubjectRequest.objects.get()
    agent = dsr.agent
    assert (dsr.status, dsr.requester_email, dsr.requester_name) == (Status.AWAITING_CLIENT, "carla@example.com",
                                                                     "Carla Client")
    assert (agent.agent_name, agent.agent_email, agent.decision) == ("Alex Agent", "alex@agency.example", "pending")
    # The permission is kept under a random name (no personal data in the path), with its digest.
    assert agent.permission_name == "signed.pdf" and "signed" not in agent.permission_file.name
    assert agent.permission_file.read() == PDF and len(agent.permission_sha256) == 64
    # The deadline is paused while the client is asked; only the client is written to, and nothing else is sent.
    pause = dsr.pauses.get()
    assert pause.reason == RequestClockPause.Reason.AGENT_CONFIRMATION and pause.ended_at is None
    [sent] = mail.outbox
    assert sent.to == ["carla@example.com"] and "Alex Agent" in sent.body
    assert not dsr.acknowledged_at
    # Staff cannot answer it yet: nothing reaches the client but the confirmation link.
    officer = staff_user_ensure(email="privacy@example.com", password=PASSWORD, groups=["Privacy officers"])
    client.force_login(officer)
    assert client.get(reverse("admin:rights_datasubjectrequest_reply", args=[dsr.pk])).status_code == 302
    client.logout()

    # Opening the link asks; it changes nothing by itself (mail scanners follow links).
    path = confirm_path(sent)
    assert "Alex Agent" in client.get(path).content.decode()
    assert DataSubjectRequest.objects.get().status == Status.AWAITING_CLIENT

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(path, {"answer": "confirm"})
    assert response.status_code == 200
    dsr.refresh_from_db()
    assert dsr.status == Status.OPEN and dsr.email_verified_at is not None and dsr.clock_paused_since is None
    assert AuthorisedAgent.objects.get().decision == "confirmed"
    acknowledgement = mail.outbox[1]
    assert acknowledgement.to == ["carla@example.com"]  # answers go to the client, never to the agent
    assert all("alex@agency.example" not in m.to for m in mail.outbox)
    # Confirming again changes nothing and sends nothing.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(path, {"answer": "refuse"})
    assert DataSubjectRequest.objects.get().status == Status.OPEN and len(mail.outbox) == 2


def test_the_client_refusing_the_agent_closes_the_request(client, django_capture_on_commit_callbacks):
    submit(client, django_capture_on_commit_callbacks)
    path = confirm_path(mail.outbox[0])

    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(path, {"answer": "refuse"}).content.decode()

    assert "nothing was done" in page
    dsr = DataSubjectRequest.objects.get()
    assert dsr.status == Status.CANCELLED and "did not authorise the agent" in dsr.outcome
    assert dsr.agent.decision == "refused" and dsr.agent.decided_at is not None
    assert dsr.pauses.get().ended_at is not None
    assert len(mail.outbox) == 1  # nothing to the agent, no refusal mail


def test_an_agent_request_the_client_never_confirms_is_closed_with_the_reason(
        client, django_capture_on_commit_callbacks, settings):
    submit(client, django_capture_on_commit_callbacks)
    assert agent_requests_expire() == 0
    later = timezone.now() + timedelta(days=settings.RIGHTS_AGENT_CONFIRM_DAYS, hours=1)

    assert agent_requests_expire(now=later) == 1
    dsr = DataSubjectRequest.objects.get()
    assert dsr.status == Status.CANCELLED and "did not confirm" in dsr.outcome and dsr.agent.decision == "expired"
    assert agent_requests_expire(now=later) == 0


def test_the_agent_form_answers_the_same_whether_or_not_the_client_has_an_account(
        client, django_capture_on_commit_callbacks):
    make_client("carla@example.com", full_name="Carla Client")
    mail.outbox.clear()
    known = client.get(submit(client, django_capture_on_commit_callbacks)["Location"]).content.decode()
    unknown = client.get(submit(client, django_capture_on_commit_callbacks, client_email="nobody@example.com")[
        "Location"]).content.decode()

    def shown(page, address):
        return re.sub(r'value="[^"]+"', "", page.replace(address, "X"))  # the CSRF token differs for every page

    assert shown(known, "carla@example.com") == shown(unknown, "nobody@example.com")
    assert DataSubjectRequest.objects.filter(client__isnull=True).count() == 2  # never linked automatically


@pytest.mark.parametrize("upload, error", [
    (SimpleUploadedFile("signed.pdf", b"MZ\x90\x00not a pdf", content_type="application/pdf"), "not a real PDF"),
    (SimpleUploadedFile("signed.exe", PDF), "Upload a PDF, PNG or JPEG"),
    ("", "Upload the permission"),
])
def test_an_agent_request_without_a_real_signed_permission_is_refused_and_nothing_is_kept(
        client, django_capture_on_commit_callbacks, upload, error):
    response = submit(client, django_capture_on_commit_callbacks, permission=upload)

    assert response.status_code == 400 and error in response.content.decode()
    assert not DataSubjectRequest.objects.exists() and not mail.outbox
    assert 'value="Carla Client"' in response.content.decode()  # what was typed is kept


def test_agent_permission_file_is_for_permitted_staff_only(client, django_capture_on_commit_callbacks, owner):
    submit(client, django_capture_on_commit_callbacks, client_email=owner.email)
    dsr = DataSubjectRequest.objects.get()
    DataSubjectRequest.objects.filter(pk=dsr.pk).update(client=owner)  # staff linked it to the account
    url = reverse("admin:rights_datasubjectrequest_agent_permission", args=[dsr.pk])
    officer = staff_user_ensure(email="privacy@example.com", password=PASSWORD, groups=["Privacy officers"])
    support = staff_user_ensure(email="support@example.com", password=PASSWORD, groups=["Support agents"])

    client.force_login(officer)
    response = client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF
    assert "attachment" in response["Content-Disposition"] and "signed" not in response["Content-Disposition"]
    assert StaffAccess.objects.filter(staff=officer, client=owner, fields=["agent_permission"]).exists()
    assert dsr.messages.filter(author=officer, body__contains="signed permission").exists()
    change_page = client.get(reverse("admin:rights_datasubjectrequest_change", args=[dsr.pk])).content.decode()
    assert url in change_page and "Alex Agent" in change_page

    # A support agent sees that an agent made the request, not the file; the owner and an outsider get nothing.
    client.force_login(support)
    assert client.get(url).status_code == 403
    assert url not in client.get(reverse("admin:rights_datasubjectrequest_change", args=[dsr.pk])).content.decode()
    client.force_login(owner.user)
    assert client.get(url).status_code == 302 and "/admin/login/" in client.get(url)["Location"]
    client.logout()
    assert "/admin/login/" in client.get(url)["Location"]
    # The file is under MEDIA_ROOT, which no URL serves.
    assert client.get("/media/" + dsr.agent.permission_file.name).status_code == 404
