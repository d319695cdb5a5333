"""The breach register in the admin: recorded by privacy officers, read by Legal, invisible to support agents; the
72-hour clock on the list and the record; edits after a notification refused, notes appended; an audit trail."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from breaches.models import Breach, BreachAuditEntry, BreachNote
from breaches.services import breach_authority_notified, breach_update
from tests.conftest import make_client

from .conftest import TEXTS, make_breach

pytestmark = pytest.mark.django_db
CHANGELIST = reverse("admin:breaches_breach_changelist")


def change_url(breach):
    return reverse("admin:breaches_breach_change", args=[breach.pk])


def test_privacy_officer_records_a_breach_in_the_admin_and_the_audit_trail_says_so(client, officer, settings):
    client.force_login(officer)
    form = client.get(reverse("admin:breaches_breach_add"))
    assert settings.BREACH_DPO_CONTACT in form.content.decode()
    response = client.post(reverse("admin:breaches_breach_add"), {
        "title": "Laptop stolen", "discovered_at_0": "2026-03-01", "discovered_at_1": "09:30:00",
        "occurred_from_0": "", "occurred_from_1": "", "occurred_until_0": "", "occurred_until_1": "",
        "categories": ["name", "phone"], "approx_clients": "120", "approx_records": "300",
        "dpo_contact": "DPO, dpo@fulfillmen.example", "authority_name": "", **TEXTS, "_save": "Save"})
    breach = Breach.objects.get()
    assert response.status_code == 302 and response["Location"] == change_url(breach)
    assert breach.categories == ["name", "phone"] and breach.recorded_by == officer
    assert [e.action for e in breach.audit.all()] == [BreachAuditEntry.Action.RECORDED]


def test_a_breach_with_no_category_or_an_end_before_its_start_is_refused_and_nothing_is_saved(client, officer):
    client.force_login(officer)
    response = client.post(reverse("admin:breaches_breach_add"), {
        "title": "Bad", "discovered_at_0": "2026-03-01", "discovered_at_1": "09:30:00",
        "occurred_from_0": "2026-02-10", "occurred_from_1": "10:00:00", "occurred_until_0": "2026-02-01",
        "occurred_until_1": "10:00:00", "categories": ["name"], "dpo_contact": "DPO", **TEXTS})
    assert response.status_code == 200 and "before its start" in response.content.decode()
    assert not Breach.objects.exists()


def test_breach_shows_time_left_of_the_72_hour_clock_and_flags_overdue(client, officer):
    running = make_breach(officer, hours_ago=10, title="Running breach")
    overdue = make_breach(officer, hours_ago=80, title="Overdue breach")
    notified = make_breach(officer, hours_ago=100, title="Notified breach")
    breach_authority_notified(breach=notified, actor=officer, authority_name="CAC Shenzhen",
                              notified_at=notified.discovered_at + timedelta(hours=30))
    client.force_login(officer)
    page = client.get(CHANGELIST).content.decode()
    assert "61 h 59 min left" in page                                # 72 − 10 hours, a moment later
    assert "Overdue by 8 h" in page and 'class="disclosure-overdue"' in page
    assert "Authority notified 30 h 00 min after discovery" in page
    only_overdue = client.get(CHANGELIST, {"clock": "overdue"}).content.decode()
    assert "Overdue breach" in only_overdue and "Running breach" not in only_overdue and "Notified breach" not in only_overdue
    record = client.get(change_url(running)).content.decode()
    assert 'id="breach-clock"' in record and "61 h 59 min left" in record
    assert "Overdue by 8 h" in client.get(change_url(overdue)).content.decode()


def test_edits_after_the_authority_notice_are_refused_and_corrections_are_appended_notes(client, officer):
    breach = make_breach(officer)
    breach_update(breach=breach, actor=officer, changes={"approx_clients": 40})
    breach_authority_notified(breach=breach, actor=officer, authority_name="CAC Shenzhen", notified_at=timezone.now(),
                              reference="CAC-77")
    with pytest.raises(Exception, match="append a note"):
        breach_update(breach=breach, actor=officer, changes={"nature": "Something else"})
    breach_update(breach=breach, actor=officer, changes={"client_advice": "Change your password."})  # still open
    client.force_login(officer)
    client.post(reverse("admin:breaches_breach_note_add", args=[breach.pk]), {"text": "40 more clients found."})
    breach.refresh_from_db()
    assert breach.nature == TEXTS["nature"] and breach.approx_clients == 40
    assert BreachNote.objects.get(breach=breach).text == "40 more clients found."
    assert [e.action for e in breach.audit.all()] == ["recorded", "edited", "authority", "edited"]
    page = client.get(change_url(breach)).content.decode()
    assert "40 more clients found." in page and "CAC-77" in page
    assert 'name="nature" ' in page and "disabled" in page.split('name="nature"')[1].split(">")[0]


def test_late_authority_notice_needs_the_reasons_for_the_delay(officer):
    breach = make_breach(officer, hours_ago=90)
    with pytest.raises(Exception, match="reasons for the delay"):
        breach_authority_notified(breach=breach, actor=officer, authority_name="CAC", notified_at=timezone.now())
    breach_authority_notified(breach=breach, actor=officer, authority_name="CAC", notified_at=timezone.now(),
                              delay_reason="The forensic report came on day 4.")
    assert Breach.objects.get(pk=breach.pk).delay_reason == "The forensic report came on day 4."


def test_support_agent_cannot_see_breaches(client, officer, support):
    breach = make_breach(officer)
    client.force_login(support)
    assert "breaches" not in client.get(reverse("admin:index")).content.decode().lower()
    for url in [CHANGELIST, change_url(breach), reverse("admin:breaches_breach_add"),
                reverse("admin:breaches_breach_notice", args=[breach.pk]),
                reverse("admin:breaches_breach_subjects_csv", args=[breach.pk]),
                reverse("admin:breaches_breach_select", args=[breach.pk])]:
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("admin:breaches_breach_note_add", args=[breach.pk]), {"text": "x"}).status_code == 403
    assert not BreachNote.objects.exists()


def test_legal_reads_breaches_but_cannot_work_them_and_a_client_is_sent_to_the_admin_login(client, officer, legal):
    breach = make_breach(officer)
    client.force_login(legal)
    page = client.get(change_url(breach))
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert client.get(reverse("admin:breaches_breach_select", args=[breach.pk])).status_code == 403
    assert client.get(reverse("admin:breaches_breach_notice", args=[breach.pk])).status_code == 200
    outsider = make_client("outsider@example.com")
    client.force_login(outsider.user)
    response = client.get(change_url(breach))
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]


def test_after_the_authority_notice_the_form_changes_only_what_clients_can_do_and_after_the_client_notice_nothing(
        client, officer, officer2):
    breach = make_breach(officer)
    breach_authority_notified(breach=breach, actor=officer, authority_name="CAC", notified_at=timezone.now())
    client.force_login(officer)
    data = {"title": "Renamed", "discovered_at_0": "2026-01-01", "discovered_at_1": "00:00:00", "categories": ["phone"],
            "dpo_contact": "Someone else", "authority_name": "Other", **TEXTS, "nature": "Rewritten",
            "client_advice": "Change your password now.", "_save": "Save"}
    assert client.post(change_url(breach), data).status_code == 302
    breach.refresh_from_db()
    assert (breach.title, breach.nature, breach.categories) == ("Stolen API key", TEXTS["nature"], ["email", "name"])
    assert breach.client_advice == "Change your password now."
    from breaches.services import breach_notice_request, breach_subjects_select

    breach_subjects_select(breach=breach, actor=officer, scope="client-list", client_text=str(make_client().public_id))
    breach_notice_request(breach=breach, actor=officer)
    page = client.get(change_url(breach)).content.decode()
    assert 'name="_save"' not in page and "Approve and send the client notice" in page
    assert client.post(change_url(breach), {**data, "client_advice": "Again"}).status_code == 403
