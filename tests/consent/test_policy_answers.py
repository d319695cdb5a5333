"""Material policy changes: the client is asked on the next portal visit, and the answer is a ledger event."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from amendments.models import NoticeDelivery
from amendments.services import notice_period, policy_draft_save, policy_publish
from consent.models import Channel, ConsentAction, ConsentEvent
from consent.policy_answers import (
    POLICY_ACCEPTANCE,
    pending_material_version,
    policy_answer_record,
    policy_objections,
    policy_reminders_create,
)
from consent.tasks import send_policy_reminders
from tests.conftest import make_client

pytestmark = pytest.mark.django_db

OLD_TEXT = "# Privacy policy\n\nWe keep your data in China.\n\nWe never sell it."
NEW_TEXT = "# Privacy policy\n\nWe keep your data in China.\n\nWe share it with drop-shipping partners abroad."


def publish(label, *, material, body, effective_in=timedelta(days=31), published_ago=timedelta(0)):
    now = timezone.now()
    draft = policy_draft_save(label=label, body_en=body, summary=f"Summary of {label}: partners abroad.",
                              summary_zh_hans=f"{label} 版本摘要。", is_material=material)
    return policy_publish(version=draft, effective_at=now + effective_in, now=now - published_ago)


@pytest.fixture
def in_force(db):
    return publish("1.0", material=False, body=OLD_TEXT, effective_in=timedelta(0),
                   published_ago=notice_period(material=False))


@pytest.fixture
def pending(in_force):
    return publish("2.0", material=True, body=NEW_TEXT)


def answer(client, version, choice):
    return client.post(reverse("consent:policy_answer", args=[version.label]), {"answer": choice})


def answers_of(client_record):
    return ConsentEvent.objects.filter(client=client_record, purpose__code=POLICY_ACCEPTANCE)


def test_client_visiting_the_dashboard_after_a_material_version_is_published_sees_the_notice(client, owner, pending):
    client.force_login(owner.user)
    page = client.get(reverse("portal:dashboard")).content.decode()
    assert "please accept or object to version 2.0" in page
    assert reverse("consent:policy_answer", args=["2.0"]) in page and "Summary of 2.0" in page


def test_a_non_material_version_asks_nothing_on_the_dashboard(client, owner, in_force):
    publish("1.1", material=False, body=NEW_TEXT, effective_in=notice_period(material=False) + timedelta(days=3))
    client.force_login(owner.user)
    assert "please accept or object" not in client.get(reverse("portal:dashboard")).content.decode()


@pytest.mark.parametrize("choice, action", [("accept", ConsentAction.GRANT), ("object", ConsentAction.WITHDRAW)])
def test_answering_records_a_portal_event_for_the_pending_version_and_the_notice_disappears(
        client, owner, pending, choice, action):
    client.force_login(owner.user)
    response = answer(client, pending, choice)
    assert response.status_code == 302 and response["Location"] == reverse("portal:dashboard")
    event = answers_of(owner).get()
    assert (event.action, event.channel, event.policy_version) == (action, Channel.PORTAL, pending)
    page = client.get(response["Location"]).content.decode()
    assert "please accept or object to version 2.0" not in page
    assert ("You accepted version 2.0" if choice == "accept" else "Your objection to version 2.0") in page
    assert pending_material_version(client=owner) is None


def test_clicking_the_same_answer_twice_records_one_event(client, owner, pending):
    client.force_login(owner.user)
    answer(client, pending, "object")
    answer(client, pending, "object")
    assert answers_of(owner).count() == 1


def test_an_answer_to_an_earlier_version_does_not_answer_the_next_one(owner, pending):
    policy_answer_record(client=owner, version=pending, accept=True, ip_address=None, user_agent="")
    later = publish("3.0", material=True, body=NEW_TEXT + "\n\nAnd transfers to Singapore.", effective_in=timedelta(days=40))
    assert pending_material_version(client=owner) == later
    event, created = policy_answer_record(client=owner, version=later, accept=True, ip_address=None, user_agent="")
    assert created and event.policy_version == later and pending_material_version(client=owner) is None


def test_answering_a_non_material_version_is_refused(client, owner, in_force):
    minor = publish("1.1", material=False, body=NEW_TEXT, effective_in=notice_period(material=False) + timedelta(days=3))
    with pytest.raises(ValidationError):
        policy_answer_record(client=owner, version=minor, accept=True, ip_address=None, user_agent="")
    client.force_login(owner.user)
    assert answer(client, minor, "accept").status_code == 404
    assert not answers_of(owner).exists()


def test_answering_a_version_already_in_effect_is_refused(client, owner, in_force):
    effective = publish("2.0", material=True, body=NEW_TEXT, effective_in=timedelta(0), published_ago=timedelta(days=31))
    with pytest.raises(ValidationError, match="already in effect"):
        policy_answer_record(client=owner, version=effective, accept=False, ip_address=None, user_agent="")
    client.force_login(owner.user)
    response = answer(client, effective, "object")
    assert response["Location"] == reverse("consent:policy_answer", args=["2.0"])
    assert not answers_of(owner).exists() and pending_material_version(client=owner) is None


def test_answering_a_draft_is_refused(owner):
    draft = policy_draft_save(label="2.0", body_en=NEW_TEXT, is_material=True)
    with pytest.raises(ValidationError, match="not been published"):
        policy_answer_record(client=owner, version=draft, accept=True, ip_address=None, user_agent="")


def test_an_outsiders_answer_does_not_affect_the_owner(client, owner, outsider, pending):
    client.force_login(outsider.user)
    answer(client, pending, "accept")
    assert pending_material_version(client=outsider) is None
    assert pending_material_version(client=owner) == pending
    client.force_login(owner.user)
    assert "please accept or object to version 2.0" in client.get(reverse("portal:dashboard")).content.decode()


def test_objections_selector_lists_objectors_only_by_their_latest_answer(owner, outsider, pending):
    changed_mind = make_client("changed@example.com")
    policy_answer_record(client=owner, version=pending, accept=False, ip_address="192.0.2.1", user_agent="test")
    policy_answer_record(client=outsider, version=pending, accept=True, ip_address=None, user_agent="")
    policy_answer_record(client=changed_mind, version=pending, accept=False, ip_address=None, user_agent="")
    policy_answer_record(client=changed_mind, version=pending, accept=True, ip_address=None, user_agent="")
    assert [e.client for e in policy_objections(version=pending)] == [owner]


def test_the_policy_page_shows_the_summary_the_diff_and_both_buttons(client, owner, pending):
    client.force_login(owner.user)
    page = client.get(reverse("consent:policy_answer", args=["2.0"])).content.decode()
    assert "Summary of 2.0" in page and "From version 1.0 to version 2.0" in page
    assert "<del><p>We never sell it.</p></del>" in page
    assert "<ins><p>We share it with drop-shipping partners abroad.</p></ins>" in page
    assert "Added" in page and "Removed" in page
    assert "Accept version 2.0" in page and "Object to version 2.0" in page and "csrfmiddlewaretoken" in page
    assert "<script" not in page and "style=" not in page


def test_an_unknown_version_and_staff_get_no_policy_page(client, owner, privacy_officer, pending):
    client.force_login(owner.user)
    assert client.get(reverse("consent:policy_answer", args=["9.9"])).status_code == 404
    client.force_login(privacy_officer)
    assert client.get(reverse("consent:policy_answer", args=["2.0"]))["Location"] == reverse("admin:index")


def test_reminders_go_only_to_clients_who_have_not_answered_within_7_days_of_the_effective_date(owner, outsider, in_force):
    # Needs amendments.notices.notices_create_for.
    soon = publish("2.0", material=True, body=NEW_TEXT, effective_in=timedelta(days=5), published_ago=timedelta(days=26))
    later = publish("3.0", material=True, body=NEW_TEXT + "\n\nMore.", effective_in=timedelta(days=31))
    policy_answer_record(client=outsider, version=soon, accept=False, ip_address=None, user_agent="")
    assert send_policy_reminders() == {"2.0": 2}  # the owner's email and SMS
    reminders = NoticeDelivery.objects.filter(kind=NoticeDelivery.Kind.REMINDER)
    assert {(d.version, d.client, d.channel) for d in reminders} == {(soon, owner, "email"), (soon, owner, "sms")}
    assert not reminders.filter(version=later).exists()
    assert policy_reminders_create(version=soon) == 0  # safe to run twice


def test_the_privacy_officer_lists_standing_objections_in_the_admin(client, owner, outsider, privacy_officer, pending):
    policy_answer_record(client=owner, version=pending, accept=False, ip_address=None, user_agent="")
    policy_answer_record(client=outsider, version=pending, accept=True, ip_address=None, user_agent="")
    client.force_login(privacy_officer)
    page = client.get(reverse("admin:consent_consentevent_changelist"), {"objections_to": pending.pk}).content.decode()
    assert str(owner.public_id) in page or owner.email in page
    assert str(outsider.public_id) not in page and outsider.email not in page
