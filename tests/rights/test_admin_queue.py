import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from accounts.services import staff_user_ensure
from notify.models import OutboundMessage
from rights.holds import LEGAL_OBLIGATION_REASON, client_legal_holds
from rights.models import DataExport, DataSubjectRequest, LegalHold, Rectification, RequestMessage, ResponseDeadlineRule
from rights.services import legal_hold_set, request_assign, request_close, request_extend, request_open, request_reference
from tests.conftest import PASSWORD, make_client

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 3, 10, 10, 0, tzinfo=SHANGHAI)
TODAY = NOW.date()
CHANGELIST = "admin:rights_datasubjectrequest_changelist"
Status = DataSubjectRequest.Status


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def legal(db):
    return staff_user_ensure(email="legal@example.com", password=PASSWORD, groups=["Legal"])


def received(days_ago):
    return NOW - timedelta(days=days_ago)


def letter(email, *, days_ago=0, kind="access", name="Letter Writer"):
    """A request without an account, due by the default rule (30 days)."""
    return request_open(kind=kind, channel="letter", requester_name=name, requester_email=email,
                        details=f"Please help, {name}.", received_at=received(days_ago))


def change_url(dsr, step=None):
    if step:
        return reverse(f"admin:rights_datasubjectrequest_{step}", args=[dsr.pk])
    return reverse("admin:rights_datasubjectrequest_change", args=[dsr.pk])


def page(response) -> str:
    return response.content.decode()


def result_rows(response) -> list[str]:
    if 'id="result_list"' not in page(response):
        return []
    table = page(response).split('id="result_list"', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr.*?</tr>", table.split("<tbody>", 1)[1], flags=re.S)


def references(response) -> list[str]:
    refs = []
    for row in result_rows(response):
        match = re.search(r">([0-9A-F]{8})</a>", row)
        refs.append(match.group(1) if match else None)
    return refs


def row_of(response, dsr) -> str:
    return next(row for row in result_rows(response) if request_reference(dsr) in row)


# --- The queue ------------------------------------------------------------------------------------------------------


def test_queue_lists_requests_awaiting_an_answer_first_by_effective_due_date(client, privacy_officer):
    later = letter("later@example.com", days_ago=1)             # due 8 April
    overdue = letter("overdue@example.com", days_ago=40)        # due 28 February
    soon = letter("soon@example.com", days_ago=26)              # due 14 March
    extended = letter("extended@example.com", days_ago=28)      # due 12 March, extended to 10 April
    request_extend(request=extended, until=date(2026, 4, 10), reason="Many systems to search.", actor=privacy_officer)
    closed = letter("closed@example.com", days_ago=50)          # long overdue, but answered
    request_close(request=closed, status=Status.COMPLETED, outcome="Sent the data.")

    client.force_login(privacy_officer)
    response = client.get(reverse(CHANGELIST))

    assert response.status_code == 200
    assert references(response) == [request_reference(r) for r in (overdue, soon, later, extended, closed)]


def test_overdue_and_due_this_week_are_marked_only_on_requests_awaiting_an_answer(client, privacy_officer):
    overdue = letter("overdue@example.com", days_ago=40)
    soon = letter("soon@example.com", days_ago=26)
    later = letter("later@example.com", days_ago=1)
    closed = letter("closed@example.com", days_ago=50)
    request_close(request=closed, status=Status.REFUSED, refusal_reason="Manifestly unfounded.")

    client.force_login(privacy_officer)
    response = client.get(reverse(CHANGELIST))

    assert "Overdue" in row_of(response, overdue) and "Due this week" not in row_of(response, overdue)
    assert "Due this week" in row_of(response, soon) and "Overdue" not in row_of(response, soon)
    assert "Overdue" not in row_of(response, later) and "Due this week" not in row_of(response, later)
    assert "Overdue" not in row_of(response, closed)
    assert "Overdue" in page(client.get(change_url(overdue)))


def test_an_extension_moves_a_request_out_of_due_this_week(client, privacy_officer):
    soon = letter("soon@example.com", days_ago=26)
    request_extend(request=soon, until=date(2026, 4, 1), reason="Data in an archive.", actor=privacy_officer)

    client.force_login(privacy_officer)
    row = row_of(client.get(reverse(CHANGELIST)), soon)

    assert "Due this week" not in row
    assert "April 1, 2026 (extended)" in row


def test_queue_filters_by_deadline_status_kind_channel_and_assignee(client, privacy_officer, support_agent):
    overdue = letter("overdue@example.com", days_ago=40, kind="erasure")
    soon = letter("soon@example.com", days_ago=26)
    later = letter("later@example.com", days_ago=1, kind="question")
    request_assign(request=later, assignee=support_agent, actor=privacy_officer)
    closed = letter("closed@example.com", days_ago=50)
    request_close(request=closed, status=Status.COMPLETED)
    client.force_login(privacy_officer)

    def listed(**params):
        return set(references(client.get(reverse(CHANGELIST), params)))

    ref = request_reference
    assert listed(deadline="overdue") == {ref(overdue)}
    assert listed(deadline="week") == {ref(soon)}
    assert listed(deadline="later") == {ref(later)}
    assert listed(status__exact="completed") == {ref(closed)}
    assert listed(status__exact="in-progress") == {ref(later)}
    assert listed(kind__exact="erasure") == {ref(overdue)}
    assert listed(assignee=str(support_agent.pk)) == {ref(later)}
    assert listed(assignee="none") == {ref(overdue), ref(soon), ref(closed)}
    assert listed(channel__exact="letter") == {ref(overdue), ref(soon), ref(later), ref(closed)}
    assert listed(channel__exact="portal") == set()


def test_queue_search_finds_a_request_by_reference_requester_email_or_client_name(client, privacy_officer, owner):
    from_letter = letter("writer@example.com", name="Wanda Writer")
    from_portal = request_open(kind="access", channel="portal", client=owner)
    client.force_login(privacy_officer)

    def found(term):
        return set(references(client.get(reverse(CHANGELIST), {"q": term})))

    assert found(request_reference(from_letter).lower()) == {request_reference(from_letter)}
    assert found(str(from_portal.public_id)) == {request_reference(from_portal)}
    assert found("writer@example") == {request_reference(from_letter)}
    assert found("Owner Client") == {request_reference(from_portal)}
    assert found("owner@example.com") == {request_reference(from_portal)}
    assert found("nobody-at-all") == set()


def test_queue_page_needs_the_same_queries_for_many_requests(client, privacy_officer, support_agent, owner,
                                                              django_assert_max_num_queries):
    for n in range(3):
        letter(f"few{n}@example.com", days_ago=n)
    client.force_login(privacy_officer)
    client.get(reverse(CHANGELIST))
    for n in range(30):
        dsr = request_open(kind="access", channel="portal", client=owner) if n % 2 else letter(f"many{n}@example.com")
        request_assign(request=dsr, assignee=support_agent, actor=privacy_officer)
    with django_assert_max_num_queries(9):  # 8, and since staff need a second factor the session's TOTP device (django-otp)
        response = client.get(reverse(CHANGELIST))
    assert len(result_rows(response)) == 33


# --- Extension ------------------------------------------------------------------------------------------------------


def extend_form(until, reason="We must search three warehouses' systems."):
    return {"until": until.isoformat(), "reason": reason}


def test_an_extension_with_a_reason_emails_the_client_and_moves_the_due_date(client, privacy_officer, owner,
                                                                            django_capture_on_commit_callbacks):
    dsr = request_open(kind="access", channel="portal", client=owner, received_at=received(5))  # GDPR: due 5 April
    client.force_login(privacy_officer)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(change_url(dsr, "extend"), extend_form(date(2026, 5, 20)))

    assert response.status_code == 302
    dsr.refresh_from_db()
    assert (dsr.due_on, dsr.effective_due_on) == (date(2026, 4, 5), date(2026, 5, 20))
    assert dsr.extension_reason == "We must search three warehouses' systems."
    [sent] = mail.outbox
    assert sent.to == ["owner@example.com"]
    assert "May 20, 2026" in sent.body and "three warehouses" in sent.body
    notice = dsr.messages.get(direction=RequestMessage.Direction.OUTGOING)
    assert notice.delivery.status == OutboundMessage.Status.SENT and notice.author == privacy_officer
    shown = page(client.get(change_url(dsr)))
    assert "May 20, 2026" in shown and "three warehouses" in shown


@pytest.mark.parametrize(("country", "region", "phone", "latest"), [
    ("DE", "", "+49 151 23456789", date(2026, 6, 5)),      # GDPR: due 5 April, two further months
    ("US", "US-CA", "+1 415 555 2671", date(2026, 6, 3)),   # CCPA: due 19 April, 45 more days
    ("BR", "", "+55 11 91234 5678", date(2026, 5, 4)),      # default: due 4 April, 30 more days
])
def test_an_extension_beyond_the_legal_maximum_is_refused(client, privacy_officer, country, region, phone, latest):
    owner = make_client(country=country, region=region, phone=phone)
    dsr = request_open(kind="erasure", channel="portal", client=owner, received_at=received(5))
    client.force_login(privacy_officer)

    refused = client.post(change_url(dsr, "extend"), extend_form(latest + timedelta(days=1)))

    assert refused.status_code == 400
    assert "The law allows an extension until" in page(refused)
    dsr.refresh_from_db()
    assert dsr.extended_to is None and not mail.outbox
    assert client.post(change_url(dsr, "extend"), extend_form(latest)).status_code == 302
    dsr.refresh_from_db()
    assert dsr.extended_to == latest


def test_an_extension_needs_a_reason_and_a_later_date(client, privacy_officer, owner):
    dsr = request_open(kind="access", channel="portal", client=owner)
    client.force_login(privacy_officer)

    no_reason = client.post(change_url(dsr, "extend"), extend_form(date(2026, 5, 1), reason="  "))
    earlier = client.post(change_url(dsr, "extend"), extend_form(date(2026, 3, 20)))

    assert no_reason.status_code == earlier.status_code == 400
    assert "This field is required." in page(no_reason)
    assert "Choose a date after the current due date" in page(earlier)
    dsr.refresh_from_db()
    assert dsr.extended_to is None


def test_an_extension_after_the_original_due_date_is_refused(client, privacy_officer, owner):
    dsr = request_open(kind="access", channel="portal", client=owner, received_at=received(40))  # due 28 February

    client.force_login(privacy_officer)
    response = client.post(change_url(dsr, "extend"), extend_form(date(2026, 4, 1)))

    assert response.status_code == 400
    assert "has passed: an extension must be announced before it" in page(response)


# --- Reply, note, close ---------------------------------------------------------------------------------------------


def test_a_reply_emails_the_requester_and_the_thread_shows_it(client, support_agent, django_capture_on_commit_callbacks):
    question = letter("asker@example.com", kind="question", name="Ann Asker")
    client.force_login(support_agent)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(change_url(question, "reply"), {"body": "We keep invoices for five years."})

    assert response.status_code == 302
    [sent] = mail.outbox
    assert sent.to == ["asker@example.com"]
    assert "Hello Ann Asker," in sent.body and "We keep invoices for five years." in sent.body
    assert request_reference(question) in sent.subject
    reply = question.messages.get(direction=RequestMessage.Direction.OUTGOING)
    assert reply.author == support_agent and reply.delivery.to == "asker@example.com"
    thread = page(client.get(change_url(question))).split('id="request-thread"', 1)[1]
    assert "Please help, Ann Asker." in thread                       # what they wrote
    assert "We keep invoices for five years." in thread              # what we answered
    assert "E-mail to asker@example.com: Sent" in thread
    question.refresh_from_db()
    assert question.status == Status.IN_PROGRESS


def test_a_reply_can_close_a_question_as_answered(client, support_agent, django_capture_on_commit_callbacks):
    question = letter("asker@example.com", kind="question")
    client.force_login(support_agent)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(change_url(question, "reply"), {"body": "Yes, you can.", "close": "on"})

    question.refresh_from_db()
    assert question.status == Status.COMPLETED and question.completed_at is not None
    assert len(mail.outbox) == 1  # the answer only; closing sends nothing more


def test_an_empty_reply_is_refused_and_nothing_is_sent(client, support_agent):
    question = letter("asker@example.com", kind="question")
    client.force_login(support_agent)

    response = client.post(change_url(question, "reply"), {"body": ""})

    assert response.status_code == 400 and "This field is required." in page(response)
    assert not question.messages.filter(direction=RequestMessage.Direction.OUTGOING).exists()
    assert not OutboundMessage.objects.exists()


def test_a_note_stays_internal(client, support_agent):
    dsr = letter("asker@example.com")
    client.force_login(support_agent)

    client.post(change_url(dsr, "note"), {"body": "Called the requester; identity confirmed by order number."})

    note = dsr.messages.get(direction=RequestMessage.Direction.NOTE)
    assert note.author == support_agent and note.delivery is None
    assert not OutboundMessage.objects.exists()
    assert "identity confirmed by order number" in page(client.get(change_url(dsr)))


def test_a_refusal_requires_a_reason_and_emails_it_with_the_right_to_complain(client, privacy_officer, owner,
                                                                              django_capture_on_commit_callbacks):
    dsr = request_open(kind="erasure", channel="portal", client=owner)
    client.force_login(privacy_officer)

    without_reason = client.post(change_url(dsr, "close"), {"status": "refused", "outcome": "", "refusal_reason": ""})
    assert without_reason.status_code == 400 and "Say why the request is refused" in page(without_reason)
    dsr.refresh_from_db()
    assert dsr.status == Status.OPEN and not mail.outbox

    with django_capture_on_commit_callbacks(execute=True):
        client.post(change_url(dsr, "close"), {"status": "refused", "refusal_reason": "Invoices must be kept 10 years."})

    dsr.refresh_from_db()
    assert dsr.status == Status.REFUSED and dsr.refusal_reason == "Invoices must be kept 10 years."
    [sent] = mail.outbox
    assert sent.to == ["owner@example.com"]
    assert "Invoices must be kept 10 years." in sent.body and "supervisory authority" in sent.body
    assert dsr.messages.filter(direction=RequestMessage.Direction.OUTGOING, delivery__kind="dsr-refused").exists()


def test_a_completion_is_emailed_only_when_staff_ask(client, privacy_officer, django_capture_on_commit_callbacks):
    quiet, told = letter("quiet@example.com"), letter("told@example.com")
    client.force_login(privacy_officer)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(change_url(quiet, "close"), {"status": "completed", "outcome": "Handled by phone."})
        client.post(change_url(told, "close"), {"status": "completed", "outcome": "Your data is attached.",
                                                "notify_client": "on"})

    assert [m.to for m in mail.outbox] == [["told@example.com"]]
    assert "Your data is attached." in mail.outbox[0].body
    quiet.refresh_from_db()
    assert quiet.status == Status.COMPLETED and quiet.outcome == "Handled by phone."


def test_a_closed_request_is_read_only_and_cannot_be_closed_again(client, privacy_officer):
    dsr = letter("closed@example.com")
    request_close(request=dsr, status=Status.CANCELLED, outcome="Withdrawn by phone.")
    client.force_login(privacy_officer)

    shown = page(client.get(change_url(dsr)))
    response = client.post(change_url(dsr, "close"), {"status": "completed"})

    assert "Close…" not in shown and "Extend…" not in shown
    assert response.status_code == 302
    dsr.refresh_from_db()
    assert dsr.status == Status.CANCELLED


# --- Recording and assigning ----------------------------------------------------------------------------------------


def test_staff_record_a_request_received_by_letter_due_from_its_received_date(client, support_agent):
    client.force_login(support_agent)

    response = client.post(reverse("admin:rights_datasubjectrequest_add"), {
        "kind": "erasure", "channel": "letter", "client": "", "requester_name": "Paper Person",
        "requester_email": "paper@example.com", "details": "Erase me, please.", "received_at": "2026-03-02T09:00",
        "_save": "Save"})

    dsr = DataSubjectRequest.objects.get()
    assert response.status_code == 302 and response["Location"] == change_url(dsr)
    assert (dsr.kind, dsr.channel, dsr.status, dsr.due_on) == ("erasure", "letter", Status.OPEN, date(2026, 4, 1))
    assert dsr.messages.get(direction="in").body == "Erase me, please."


def test_a_request_without_client_or_address_is_refused_on_the_form(client, support_agent):
    client.force_login(support_agent)

    response = client.post(reverse("admin:rights_datasubjectrequest_add"), {
        "kind": "access", "channel": "phone", "client": "", "requester_name": "Voice Only", "requester_email": "",
        "details": "", "received_at": "2026-03-09T09:00", "_save": "Save"})

    assert response.status_code == 200 and "A request needs a client or an e-mail address" in page(response)
    assert not DataSubjectRequest.objects.exists()


def test_assigning_a_request_puts_it_in_progress_and_only_staff_who_work_requests_can_be_chosen(
        client, privacy_officer, support_agent, legal):
    dsr = letter("asker@example.com")
    client.force_login(privacy_officer)

    refused = client.post(change_url(dsr), {"assignee": legal.pk, "_save": "Save"})
    assert "Select a valid choice" in page(refused)

    client.post(change_url(dsr), {"assignee": support_agent.pk, "_save": "Save"})

    dsr.refresh_from_db()
    assert dsr.assignee == support_agent and dsr.status == Status.IN_PROGRESS
    assert dsr.messages.get(direction=RequestMessage.Direction.NOTE).body == "Assigned to support@example.com."


def test_a_public_request_shows_that_an_account_uses_its_address_without_linking_it(client, privacy_officer, owner):
    dsr = letter("OWNER@example.com", name="Maybe Owner")
    client.force_login(privacy_officer)

    shown = page(client.get(change_url(dsr)))

    assert "An account with this e-mail exists." in shown
    dsr.refresh_from_db()
    assert dsr.client is None
    assert "An account with this e-mail exists." not in page(client.get(change_url(letter("stranger@example.com"))))


# --- Who may do what ------------------------------------------------------------------------------------------------


def test_clients_and_anonymous_visitors_cannot_reach_the_queue(client, owner, outsider):
    dsr = request_open(kind="access", channel="portal", client=owner)
    admin_login = reverse("admin:login")

    for user in (None, outsider.user, owner.user):
        client.logout()
        if user:
            client.force_login(user)
        for url in (reverse(CHANGELIST), change_url(dsr), change_url(dsr, "reply"), reverse("admin:rights_legalhold_changelist")):
            response = client.get(url)
            assert response.status_code == 302 and response["Location"].startswith(admin_login), url
        response = client.post(change_url(dsr, "close"), {"status": "refused", "refusal_reason": "No."})
        assert response.status_code == 302 and response["Location"].startswith(admin_login)

    dsr.refresh_from_db()
    assert dsr.status == Status.OPEN and not dsr.messages.exists()


def test_legal_reads_requests_but_cannot_answer_extend_or_close_them(client, legal):
    dsr = letter("asker@example.com")
    client.force_login(legal)

    shown = page(client.get(change_url(dsr)))

    assert "Please help, Letter Writer." in shown
    assert "Reply by e-mail" not in shown and "Extend…" not in shown and "Close…" not in shown
    assert client.post(change_url(dsr, "reply"), {"body": "Hi"}).status_code == 403
    assert client.post(change_url(dsr, "extend"), extend_form(date(2026, 4, 20))).status_code == 403
    assert client.post(change_url(dsr, "close"), {"status": "cancelled"}).status_code == 403
    dsr.refresh_from_db()
    assert dsr.status == Status.OPEN and not OutboundMessage.objects.exists()


def test_support_agents_work_requests_but_only_privacy_officers_edit_deadline_rules(client, support_agent, privacy_officer):
    rule = ResponseDeadlineRule.objects.get(jurisdiction="other")
    rule_url = reverse("admin:rights_responsedeadlinerule_change", args=[rule.pk])
    form = {"months": 0, "days": 21, "extension_months": 0, "extension_days": 30, "law": rule.law, "_save": "Save"}

    client.force_login(support_agent)
    assert client.get(reverse(CHANGELIST)).status_code == 200
    assert client.get(reverse("admin:rights_responsedeadlinerule_changelist")).status_code == 403
    assert client.post(rule_url, form).status_code == 403
    rule.refresh_from_db()
    assert rule.days == 30

    client.force_login(privacy_officer)
    assert client.post(rule_url, {**form, "days": 0}).status_code == 200  # a deadline of nothing is refused
    assert client.post(rule_url, form).status_code == 302
    rule.refresh_from_db()
    assert (rule.days, rule.extension_days) == (21, 30)
    assert letter("new@example.com").due_on == TODAY + timedelta(days=21)


def test_requests_are_kept_even_a_superuser_cannot_delete_them(client, db):
    from accounts.models import User

    root = User.objects.create_superuser("root@example.com", PASSWORD)
    dsr = letter("asker@example.com")
    client.force_login(root)

    response = client.post(reverse("admin:rights_datasubjectrequest_delete", args=[dsr.pk]), {"post": "yes"})

    assert response.status_code == 403
    assert DataSubjectRequest.objects.filter(pk=dsr.pk).exists()


# --- Legal holds, exports, rectifications ----------------------------------------------------------------------------


def test_a_privacy_officer_sets_and_releases_a_legal_hold_with_reasons(client, privacy_officer, owner):
    client.force_login(privacy_officer)

    response = client.post(reverse("admin:rights_legalhold_add"), {
        "client": owner.pk, "reason": "Customs audit 2026-17: shipping records must be kept.",
        "keep_until": "2027-03-31", "_save": "Save"})

    hold = LegalHold.objects.get()
    assert response.status_code == 302
    assert (hold.client, hold.set_by, hold.keep_until) == (owner, privacy_officer, date(2027, 3, 31))

    release_url = reverse("admin:rights_legalhold_release", args=[hold.pk])
    assert "Release…" in page(client.get(reverse("admin:rights_legalhold_change", args=[hold.pk])))
    assert client.post(release_url, {"release_reason": ""}).status_code == 400
    assert client.post(release_url, {"release_reason": "The audit is closed."}).status_code == 302

    hold.refresh_from_db()
    assert hold.released_by == privacy_officer and hold.release_reason == "The audit is closed."
    assert client.post(release_url, {"release_reason": "Again."}).status_code == 400  # already released


def test_legal_sets_holds_and_support_agents_only_see_them(client, legal, support_agent, owner):
    client.force_login(legal)
    client.post(reverse("admin:rights_legalhold_add"), {"client": owner.pk, "reason": "Litigation hold.",
                                                        "keep_until": "", "_save": "Save"})
    hold = LegalHold.objects.get()
    assert hold.set_by == legal

    client.force_login(support_agent)
    assert client.get(reverse("admin:rights_legalhold_changelist")).status_code == 200
    assert client.get(reverse("admin:rights_legalhold_add")).status_code == 403
    assert client.post(reverse("admin:rights_legalhold_release", args=[hold.pk]), {"release_reason": "x"}).status_code == 403
    hold.refresh_from_db()
    assert hold.released_at is None


def test_a_legal_hold_needs_a_future_keep_until_and_without_a_reason_tells_the_standard_wording(client, privacy_officer,
                                                                                                owner):
    client.force_login(privacy_officer)

    response = client.post(reverse("admin:rights_legalhold_add"), {"client": owner.pk, "reason": "Tax audit.",
                                                                    "keep_until": "2025-01-01", "_save": "Save"})
    assert "This date has passed." in page(response)
    assert not LegalHold.objects.exists()
    response = client.post(reverse("admin:rights_legalhold_add"), {"client": owner.pk, "reason": "", "keep_until": "",
                                                                    "_save": "Save"})
    assert response.status_code == 302
    hold = LegalHold.objects.get()
    assert client_legal_holds(client=owner) == [(str(LEGAL_OBLIGATION_REASON), None)] and hold.reason == ""


def test_exports_and_rectifications_are_shown_read_only(client, privacy_officer, owner):
    dsr = request_open(kind="export", channel="portal", client=owner)
    export = DataExport.objects.create(request=dsr, client=owner)
    fix = Rectification.objects.create(client=owner, field="full_name", old_digest="a" * 64, new_digest="b" * 64)
    legal_hold_set(client=owner, reason="Audit.", keep_until=None, actor=privacy_officer)
    client.force_login(privacy_officer)

    for model, obj in (("dataexport", export), ("rectification", fix)):
        assert client.get(reverse(f"admin:rights_{model}_changelist")).status_code == 200
        shown = client.get(reverse(f"admin:rights_{model}_change", args=[obj.pk]))
        assert shown.status_code == 200 and 'name="_save"' not in page(shown)
        assert client.get(reverse(f"admin:rights_{model}_add")).status_code == 403
        assert client.post(reverse(f"admin:rights_{model}_delete", args=[obj.pk]), {"post": "yes"}).status_code == 403


def test_staff_cannot_mark_a_scheduled_erasure_completed_by_hand(client, privacy_officer):
    from rights.erasure import erasure_request

    owner = make_client("erase-me@example.com", phone="+49 151 23450000")
    erasure = erasure_request(client=owner, actor=owner.user)
    client.force_login(privacy_officer)
    response = client.post(reverse("admin:rights_datasubjectrequest_close", args=[erasure.pk]),
                           {"status": "completed", "outcome": "done"})
    assert "completes by itself" in response.content.decode()
    erasure.refresh_from_db()
    assert erasure.status == "scheduled" and erasure.client.erased_at is None
