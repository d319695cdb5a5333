"""Publishing a policy version: the notice periods (material and not), once only, and never changed afterwards."""

from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.utils import DatabaseError
from django.utils import timezone

from amendments.models import NoticeDelivery, PolicyVersion
from amendments.services import notice_period, policy_draft_save, policy_publish
from tests.conftest import make_client

pytestmark = pytest.mark.django_db


def draft(label="2.0", *, material=False):
    return policy_draft_save(label=label, body_en=f"# Policy {label}\n\nWe changed things.", summary="Clearer words.",
                             is_material=material)


def test_a_material_change_with_less_than_the_notice_period_is_refused_naming_the_earliest_date(privacy_officer):
    now = timezone.now()
    version = draft(material=True)
    too_soon = now + timedelta(days=settings.POLICY_NOTICE_DAYS) - timedelta(minutes=1)
    with pytest.raises(ValidationError) as refused:
        policy_publish(version=version, effective_at=too_soon, published_by=privacy_officer, now=now)
    earliest = timezone.localtime(now + timedelta(days=settings.POLICY_NOTICE_DAYS)).strftime("%Y-%m-%d %H:%M")
    [message] = refused.value.message_dict["effective_at"]
    assert f"needs {settings.POLICY_NOTICE_DAYS} days' notice" in message and earliest in message
    version.refresh_from_db()
    assert not version.is_published and version.effective_at is None


def test_a_material_change_with_the_full_notice_period_is_published(privacy_officer):
    now = timezone.now()
    effective = now + timedelta(days=settings.POLICY_NOTICE_DAYS)
    version = policy_publish(version=draft(material=True), effective_at=effective, published_by=privacy_officer, now=now)
    stored = PolicyVersion.objects.get(pk=version.pk)
    assert stored.published_at == now and stored.effective_at == effective and stored.published_by == privacy_officer


def test_non_material_change_cannot_take_effect_before_the_minor_notice_period(settings):
    settings.POLICY_MINOR_NOTICE_DAYS = 7
    now = timezone.now()
    version = draft()
    for too_soon in (now, now + timedelta(days=7) - timedelta(minutes=1)):
        with pytest.raises(ValidationError) as refused:
            policy_publish(version=version, effective_at=too_soon, now=now)
        [message] = refused.value.message_dict["effective_at"]
        earliest = timezone.localtime(now + timedelta(days=7)).strftime("%Y-%m-%d %H:%M")
        assert "not material still needs 7 days' notice" in message and earliest in message
    version.refresh_from_db()
    assert not version.is_published and not NoticeDelivery.objects.exists()


def test_a_non_material_change_after_the_minor_notice_period_is_announced_to_every_client_at_publication(settings):
    settings.POLICY_MINOR_NOTICE_DAYS = 7
    client = make_client("a@example.com")
    now = timezone.now()
    version = policy_publish(version=draft(), effective_at=now + timedelta(days=7), now=now)
    assert version.published_at == now and version.effective_at == now + timedelta(days=7)
    assert set(NoticeDelivery.objects.filter(version=version).values_list("client_id", "channel", "kind")) == {
        (client.pk, "email", "notice"), (client.pk, "sms", "notice")}


def test_a_non_material_change_takes_effect_at_once_only_where_the_operator_set_the_minor_notice_period_to_zero(settings):
    settings.POLICY_MINOR_NOTICE_DAYS = 0
    now = timezone.now()
    version = policy_publish(version=draft(), effective_at=now, now=now)
    assert version.is_published and version.effective_at == now
    settings.POLICY_MINOR_NOTICE_DAYS = 1
    with pytest.raises(ValidationError, match="needs 1 days' notice"):
        policy_publish(version=draft("3.0"), effective_at=now, now=now)


def test_an_effective_date_in_the_past_is_refused():
    now = timezone.now()
    with pytest.raises(ValidationError, match="cannot be in the past"):
        policy_publish(version=draft(), effective_at=now - timedelta(hours=1), now=now)


def test_publishing_twice_is_refused_and_keeps_the_first_dates():
    now = timezone.now()
    first = now + notice_period(material=False) + timedelta(days=3)
    version = policy_publish(version=draft(), effective_at=first, now=now)
    with pytest.raises(ValidationError, match="already published"):
        policy_publish(version=version, effective_at=first + timedelta(days=9))
    assert PolicyVersion.objects.get(pk=version.pk).effective_at == first


def test_a_published_version_cannot_be_changed_through_the_service():
    now = timezone.now()
    version = policy_publish(version=draft(), effective_at=now + notice_period(material=False), now=now)
    with pytest.raises(ValidationError, match="is published and can no longer change"):
        policy_draft_save(version=version, body_en="Rewritten history.")
    assert PolicyVersion.objects.get(pk=version.pk).body_en.startswith("# Policy 2.0")


def test_the_database_refuses_a_raw_update_or_delete_of_a_published_version():
    now = timezone.now()
    version = policy_publish(version=draft(), effective_at=now + notice_period(material=False), now=now)
    with pytest.raises(DatabaseError, match="is published"), transaction.atomic():
        PolicyVersion.objects.filter(pk=version.pk).update(body_en="Rewritten history.")
    with pytest.raises(DatabaseError, match="is published"), transaction.atomic():
        PolicyVersion.objects.filter(pk=version.pk).delete()
    assert PolicyVersion.objects.get(pk=version.pk).body_en.startswith("# Policy 2.0")


def test_a_draft_can_still_be_edited_and_deleted():
    version = draft()
    policy_draft_save(version=version, body_en="Better words.")
    assert PolicyVersion.objects.get(pk=version.pk).body_en == "Better words."
    PolicyVersion.objects.filter(pk=version.pk).delete()
    assert not PolicyVersion.objects.exists()


# The publish_policy management command


@pytest.fixture
def policy_file(tmp_path):
    path = tmp_path / "policy-2.0.en.md"
    path.write_text("# Policy 2.0\n\nWe now ship through a new carrier.\n", encoding="utf-8")
    return path


def publish_policy(*args):
    out = StringIO()
    call_command("publish_policy", *args, stdout=out)
    return out.getvalue()


def test_the_command_publishes_a_material_change_with_enough_notice(policy_file):
    before = timezone.now()
    out = publish_policy("--file", str(policy_file), "--version", "2.0", "--summary", "A new carrier.",
                   "--effective-in-days", "31", "--material")
    version = PolicyVersion.objects.get(label="2.0")
    assert version.is_published and version.is_material and version.summary == "A new carrier."
    assert version.body_en == policy_file.read_text(encoding="utf-8")
    assert version.effective_at - version.published_at == timedelta(days=31)
    assert version.published_at >= before
    assert "Published version 2.0" in out and "(material change)" in out


@pytest.mark.parametrize("args, message", [
    (["--file", "/nonexistent/policy.md", "--effective-in-days", "31"], "no such file: /nonexistent/policy.md"),
    (["--effective-in-days", "-1"], "--effective-in-days cannot be negative"),
    (["--effective-in-days", "soon"], "whole number of days"),
    (["--effective-in-days", "5", "--material"], "needs 30 days' notice"),
    (["--effective-in-days", "3"], "not material still needs 7 days' notice"),
])
def test_the_command_refuses_bad_input_with_a_clear_message_and_creates_nothing(policy_file, settings, args, message):
    settings.POLICY_NOTICE_DAYS, settings.POLICY_MINOR_NOTICE_DAYS = 30, 7
    defaults = ["--file", str(policy_file)] if "--file" not in args else []
    with pytest.raises(CommandError, match=message):
        publish_policy(*defaults, *args, "--version", "2.0", "--summary", "A new carrier.")
    assert not PolicyVersion.objects.exists()
