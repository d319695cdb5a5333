import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail, signing
from django.urls import reverse

from notify.models import OutboundMessage
from rights.models import DataSubjectRequest, RequestMessage
from rights.verification import SALT
from rights.views import public

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
FORM = reverse("rights:public_request_new")
QUESTION = reverse("rights:question_new")
Status = DataSubjectRequest.Status


def request_data(**overrides):
    return {"name": "Pat Public", "email": "pat@example.com", "kind": "access", "details": "Order FM-1234.", **overrides}


def submit(client, capture, **overrides):
    with capture(execute=True):
        return client.post(FORM, request_data(**overrides))


def link_in(message) -> str:
    return re.search(r"https?://\S+/requests/verify/\S+/", message.body).group(0)


def path_of(link: str) -> str:
    return "/" + link.split("/", 3)[3]


def test_the_public_form_queues_an_unverified_request_and_emails_a_verification_link(
        client, django_capture_on_commit_callbacks):
    response = submit(client, django_capture_on_commit_callbacks)

    assert response.status_code == 302 and response["Location"] == reverse("rights:public_request_sent")
    assert "pat@example.com" in client.get(response["Location"]).content.decode()
    dsr = DataSubjectRequest.objects.get()
    assert (dsr.status, dsr.channel, dsr.kind, dsr.client) == (Status.UNVERIFIED, "public-form", "access", None)
    assert (dsr.requester_name, dsr.requester_email, dsr.email_verified_at) == ("Pat Public", "pat@example.com", None)
    [sent] = mail.outbox
    assert sent.to == ["pat@example.com"] and "48 hours" in sent.body
    assert link_in(sent).startswith("http")
    # The link is a credential: not on the thread staff read, and wiped from the delivery row once sent.
    assert not dsr.messages.filter(direction=RequestMessage.Direction.OUTGOING).exists()
    assert OutboundMessage.objects.get(kind="dsr-verify-email").body == ""


def test_following_the_link_verifies_the_address_and_opens_the_request_due_from_verification(
        client, django_capture_on_commit_callbacks):
    with time_machine.travel(datetime(2026, 3, 1, 10, 0, tzinfo=SHANGHAI), tick=False):
        submit(client, django_capture_on_commit_callbacks)
    link = link_in(mail.outbox[0])

    with time_machine.travel(datetime(2026, 3, 2, 18, 0, tzinfo=SHANGHAI), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.get(path_of(link))

    assert response.status_code == 200
    assert "Your request is confirmed" in response.content.decode()
    dsr = DataSubjectRequest.objects.get()
    assert dsr.status == Status.OPEN and dsr.email_verified_at is not None
    assert dsr.due_on == date(2026, 4, 1)  # 30 days from the confirmation on 2 March, not from the form on 1 March
    assert dsr.received_at.date() == date(2026, 3, 1)
    acknowledgement = mail.outbox[1]
    assert acknowledgement.to == ["pat@example.com"] and "April 1, 2026" in acknowledgement.body


def test_a_second_visit_to_the_link_changes_nothing(client, django_capture_on_commit_callbacks):
    submit(client, django_capture_on_commit_callbacks)
    link = path_of(link_in(mail.outbox[0]))
    with django_capture_on_commit_callbacks(execute=True):
        client.get(link)
    verified_at = DataSubjectRequest.objects.get().email_verified_at

    with django_capture_on_commit_callbacks(execute=True):
        again = client.get(link)

    assert again.status_code == 200 and "already confirmed" in again.content.decode()
    assert DataSubjectRequest.objects.get().email_verified_at == verified_at
    assert len(mail.outbox) == 2  # the link and one acknowledgement


def test_an_expired_link_gives_a_clear_page_and_leaves_the_request_unverified(client, django_capture_on_commit_callbacks):
    with time_machine.travel(datetime(2026, 3, 1, 10, 0, tzinfo=SHANGHAI), tick=False):
        submit(client, django_capture_on_commit_callbacks)
    link = path_of(link_in(mail.outbox[0]))

    with time_machine.travel(datetime(2026, 3, 3, 10, 1, tzinfo=SHANGHAI), tick=False):
        response = client.get(link)

    assert response.status_code == 400
    page = response.content.decode()
    assert "The link has expired" in page and reverse("rights:public_request_new") in page
    assert DataSubjectRequest.objects.get().status == Status.UNVERIFIED


@pytest.mark.parametrize("token", [
    "garbage",
    "eyJyIjoiMSJ9:1vAbCd:not-a-signature",
    signing.dumps({"r": "00000000-0000-0000-0000-000000000000", "e": "pat@example.com"}, salt="another.purpose"),
])
def test_a_forged_or_damaged_link_gives_a_clear_page(client, django_capture_on_commit_callbacks, token):
    submit(client, django_capture_on_commit_callbacks)

    response = client.get(reverse("rights:public_request_verify", args=[token]))

    assert response.status_code == 400 and "The link is not valid" in response.content.decode()
    assert DataSubjectRequest.objects.get().status == Status.UNVERIFIED


def test_a_correctly_signed_link_for_another_address_does_not_verify(client, django_capture_on_commit_callbacks):
    submit(client, django_capture_on_commit_callbacks)
    dsr = DataSubjectRequest.objects.get()
    token = signing.dumps({"r": str(dsr.public_id), "e": "someone-else@example.com"}, salt=SALT)

    response = client.get(reverse("rights:public_request_verify", args=[token]))

    assert response.status_code == 400
    assert DataSubjectRequest.objects.get().status == Status.UNVERIFIED


def test_the_same_address_is_refused_after_the_limit_with_a_clear_message(client, django_capture_on_commit_callbacks):
    for n in range(public.LIMIT_PER_EMAIL):
        assert submit(client, django_capture_on_commit_callbacks, details=f"Try {n}").status_code == 302

    refused = submit(client, django_capture_on_commit_callbacks, email="PAT@example.com")

    assert refused.status_code == 429
    assert "Too many requests" in refused.content.decode()
    assert DataSubjectRequest.objects.count() == public.LIMIT_PER_EMAIL
    assert len(mail.outbox) == public.LIMIT_PER_EMAIL


def test_one_ip_address_is_refused_after_the_limit_whatever_the_address(client, django_capture_on_commit_callbacks):
    for n in range(public.LIMIT_PER_IP):
        submit(client, django_capture_on_commit_callbacks, email=f"person{n}@example.com")

    refused = submit(client, django_capture_on_commit_callbacks, email="fresh@example.com")

    assert refused.status_code == 429 and "Too many requests" in refused.content.decode()
    assert not DataSubjectRequest.objects.filter(requester_email="fresh@example.com").exists()
    other_ip = client.post(FORM, request_data(email="fresh@example.com"), REMOTE_ADDR="203.0.113.9")
    assert other_ip.status_code == 302


@pytest.mark.parametrize(("overrides", "error"), [
    ({"name": ""}, "This field is required."),
    ({"email": "not-an-address"}, "Enter a valid email address."),
    ({"email": "a" * 250 + "@example.com"}, "Ensure this value has at most 254 characters"),
    ({"kind": "delete-everyone"}, "Select a valid choice."),
    ({"kind": "question", "details": "   "}, "Tell us your question"),
    ({"details": "x" * 5001}, "Ensure this value has at most 5000 characters"),
    ({"name": "Pat\x00Public"}, "Null characters are not allowed."),
])
def test_bad_input_gives_form_errors_and_writes_nothing(client, overrides, error):
    response = client.post(FORM, request_data(**overrides))

    assert response.status_code == 400
    assert error in response.content.decode()
    assert not DataSubjectRequest.objects.exists() and not OutboundMessage.objects.exists()


def test_the_form_page_is_open_to_anyone(client):
    response = client.get(FORM)

    assert response.status_code == 200
    assert 'name="email"' in response.content.decode() and 'name="kind"' in response.content.decode()


def test_a_public_request_whose_address_belongs_to_a_client_is_not_linked_to_the_account(
        client, owner, django_capture_on_commit_callbacks):
    submit(client, django_capture_on_commit_callbacks, email="owner@example.com", kind="erasure")
    with django_capture_on_commit_callbacks(execute=True):
        client.get(path_of(link_in(mail.outbox[0])))

    dsr = DataSubjectRequest.objects.get()
    assert dsr.client is None and dsr.status == Status.OPEN and dsr.jurisdiction == "other"


# --- The portal's "contact us" --------------------------------------------------------------------------------------


def test_a_logged_in_client_asks_a_question_that_enters_the_queue_and_is_acknowledged(
        client, owner, django_capture_on_commit_callbacks):
    client.force_login(owner.user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(QUESTION, {"subject": "Retention", "body": "How long do you keep my invoices?"})

    assert response.status_code == 302
    dsr = DataSubjectRequest.objects.get()
    assert (dsr.kind, dsr.channel, dsr.client, dsr.status) == ("question", "portal", owner, Status.OPEN)
    assert dsr.messages.get(direction=RequestMessage.Direction.INCOMING).body == \
        "Retention\n\nHow long do you keep my invoices?"
    [ack] = mail.outbox
    assert ack.to == ["owner@example.com"] and "We received your request" in ack.body


def test_an_empty_question_is_refused(client, owner):
    client.force_login(owner.user)

    response = client.post(QUESTION, {"subject": "Hi", "body": ""})

    assert response.status_code == 400 and "This field is required." in response.content.decode()
    assert not DataSubjectRequest.objects.exists()


def test_the_question_form_is_for_logged_in_clients_only(client, privacy_officer):
    anonymous = client.get(QUESTION)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))

    client.force_login(privacy_officer)
    staff = client.post(QUESTION, {"subject": "", "body": "Staff should use the admin."})
    assert staff.status_code == 302 and staff["Location"] == reverse("admin:index")
    assert not DataSubjectRequest.objects.exists()


def test_the_link_is_valid_for_48_hours(client, django_capture_on_commit_callbacks):
    with time_machine.travel(datetime(2026, 3, 1, 10, 0, tzinfo=SHANGHAI), tick=False):
        submit(client, django_capture_on_commit_callbacks)
    link = path_of(link_in(mail.outbox[0]))

    with time_machine.travel(datetime(2026, 3, 1, 10, 0, tzinfo=SHANGHAI) + timedelta(hours=47, minutes=59), tick=False):
        assert client.get(link).status_code == 200


def test_an_objection_to_direct_marketing_needs_no_verification(client, django_capture_on_commit_callbacks):
    response = submit(client, django_capture_on_commit_callbacks, kind="objection", details="No more newsletters.")

    dsr = DataSubjectRequest.objects.get()
    assert dsr.status == Status.OPEN and dsr.email_verified_at is None
    page = client.get(response["Location"]).content.decode()
    assert "needs no confirmation" in page
    [receipt] = mail.outbox
    assert "We received your request" in receipt.body and "/requests/verify/" not in receipt.body
