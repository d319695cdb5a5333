"""Policy versions in the admin: privacy officers write drafts and publish them; published versions are read-only."""

import re
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from amendments.models import PolicyVersion
from amendments.services import notice_period, policy_draft_save, policy_publish

from .test_policy_pages import published

pytestmark = pytest.mark.django_db

ADD = reverse("admin:amendments_policyversion_add")
CHANGELIST = reverse("admin:amendments_policyversion_changelist")


def change_url(version):
    return reverse("admin:amendments_policyversion_change", args=[version.pk])


def publish_url(version):
    return reverse("admin:amendments_policyversion_publish", args=[version.pk])


def local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def proposed_effective_at(html) -> datetime:
    [value] = re.findall(r'name="effective_at" value="([^"]+)"', html)
    return timezone.make_aware(datetime.fromisoformat(value))


def draft_fields(**changes):
    return {"label": "2.0", "summary": "We add a carrier.", "summary_zh_hans": "", "body_en": "# Policy\n\nA new carrier.",
            "body_zh_hans": "", "is_material": "on", **changes}


def test_a_privacy_officer_writes_a_draft_edits_it_and_publishes_it_through_the_publish_page(client, privacy_officer):
    published("1.0", "# Policy\n\nOne carrier.", effective_in_days=-5)
    client.force_login(privacy_officer)
    assert client.post(ADD, draft_fields()).status_code == 302
    version = PolicyVersion.objects.get(label="2.0")
    assert not version.is_published and version.is_material

    html = client.get(change_url(version)).content.decode()
    assert f'href="{publish_url(version)}"' in html and "Publish…" in html
    assert client.post(change_url(version), draft_fields(body_en="# Policy\n\nTwo new carriers.")).status_code == 302
    assert PolicyVersion.objects.get(pk=version.pk).body_en == "# Policy\n\nTwo new carriers."

    page = client.get(publish_url(version)).content.decode()
    assert "This is a material change" in page and 'value="Publish version 2.0"' in page
    assert "<del><p>One carrier.</p></del>" in page and "<ins><p>Two new carriers.</p></ins>" in page  # what changes
    proposed = proposed_effective_at(page)
    notice = timedelta(days=settings.POLICY_NOTICE_DAYS)
    assert timezone.now() + notice < proposed <= timezone.now() + notice + timedelta(hours=2)

    response = client.post(publish_url(version), {"effective_at": local(proposed)}, follow=True)
    assert response.redirect_chain[-1][0] == change_url(version)
    version.refresh_from_db()
    assert version.is_published and version.effective_at == proposed and version.published_by == privacy_officer
    assert "Version 2.0 is published. It takes effect on" in response.content.decode()


def test_the_publish_page_shows_why_a_material_change_is_refused_too_soon(client, privacy_officer):
    version = policy_draft_save(**{**draft_fields(), "is_material": True})
    client.force_login(privacy_officer)
    response = client.post(publish_url(version), {"effective_at": local(timezone.now() + timedelta(days=5))})
    assert response.status_code == 200
    html = response.content.decode()
    assert f"A material change needs {settings.POLICY_NOTICE_DAYS} days&#x27; notice" in html and "at the earliest" in html
    assert not PolicyVersion.objects.get(pk=version.pk).is_published


def test_the_publish_page_gives_a_change_that_is_not_material_the_minor_notice_period(client, privacy_officer, settings):
    settings.POLICY_MINOR_NOTICE_DAYS = 7
    version = policy_draft_save(**{**draft_fields(), "is_material": False})
    client.force_login(privacy_officer)
    page = client.get(publish_url(version)).content.decode()
    assert "This is not a material change, but clients are told before it applies: it needs 7 days' notice" in page
    refused = client.post(publish_url(version), {"effective_at": local(timezone.now())})
    assert refused.status_code == 200 and "not material still needs 7 days&#x27; notice" in refused.content.decode()
    proposed = proposed_effective_at(page)
    notice = timedelta(days=7)
    assert timezone.now() + notice < proposed <= timezone.now() + notice + timedelta(hours=2)
    assert client.post(publish_url(version), {"effective_at": local(proposed)}).status_code == 302
    version.refresh_from_db()
    assert version.is_published and version.effective_at == proposed


def test_a_change_that_is_not_material_takes_effect_at_once_where_the_minor_notice_period_is_zero(client, privacy_officer,
                                                                                                 settings):
    settings.POLICY_MINOR_NOTICE_DAYS = 0
    version = policy_draft_save(**{**draft_fields(), "is_material": False})
    client.force_login(privacy_officer)
    page = client.get(publish_url(version)).content.decode()
    assert "it may take effect at once" in page
    proposed = proposed_effective_at(page)
    assert client.post(publish_url(version), {"effective_at": local(proposed)}).status_code == 302
    version.refresh_from_db()
    assert version.is_published and version.effective_at == version.published_at


def test_a_published_version_is_shown_read_only_and_a_post_changes_nothing(client, privacy_officer):
    version = published("1.0", "# Policy\n\nThe first words.", effective_in_days=-1)
    client.force_login(privacy_officer)
    response = client.get(change_url(version))
    assert response.status_code == 200
    html = response.content.decode()
    assert "The first words." in html
    assert "<textarea" not in html and 'name="label"' not in html and 'name="_save"' not in html
    assert "Publish…" not in html and f'href="{reverse("policy:version", args=["1.0"])}"' in html  # view on site
    assert client.post(change_url(version), draft_fields(label="1.0", body_en="Rewritten.")).status_code == 403
    assert client.post(reverse("admin:amendments_policyversion_delete", args=[version.pk]), {"post": "yes"}).status_code == 403
    response = client.post(publish_url(version), {"effective_at": local(timezone.now() + timedelta(days=40))})
    assert response.status_code == 302
    assert PolicyVersion.objects.get(pk=version.pk).body_en == "# Policy\n\nThe first words."
    assert PolicyVersion.objects.get(pk=version.pk).effective_at == version.effective_at


def test_a_support_agent_may_read_versions_but_not_write_or_publish_them(client, support_agent):
    version = policy_draft_save(**{**draft_fields(), "is_material": False})
    client.force_login(support_agent)
    assert client.get(CHANGELIST).status_code == 200
    html = client.get(change_url(version)).content.decode()
    assert "<textarea" not in html and "Publish…" not in html
    assert client.get(ADD).status_code == 403
    assert client.get(publish_url(version)).status_code == 403
    assert client.post(publish_url(version), {"effective_at": local(timezone.now() + timedelta(days=1))}).status_code == 403
    assert not PolicyVersion.objects.get(pk=version.pk).is_published


def test_a_client_login_is_refused_by_the_admin(client, outsider):
    version = policy_draft_save(**{**draft_fields(), "is_material": False})
    client.force_login(outsider.user)
    for url in [CHANGELIST, ADD, change_url(version), publish_url(version)]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login")), url
    assert client.post(publish_url(version), {"effective_at": local(timezone.now())}).status_code == 302
    assert not PolicyVersion.objects.get(pk=version.pk).is_published


def test_the_list_shows_each_versions_status_in_the_same_number_of_queries_however_long(client, privacy_officer):
    published("1.0", "Old.", effective_in_days=-60)
    published("2.0", "Current.", effective_in_days=-10)
    published("3.0", "Next.", effective_in_days=40, material=True)
    policy_draft_save(label="4.0", body_en="Draft.")
    client.force_login(privacy_officer)
    client.get(CHANGELIST)  # warm the caches (content types, permissions) before counting
    with CaptureQueriesContext(connection) as few:
        html = client.get(CHANGELIST).content.decode()
    for label, status in [("1.0", "published (superseded)"), ("2.0", "in force"), ("3.0", "upcoming"), ("4.0", "draft")]:
        assert re.search(rf">{re.escape(label)}</a>.*?<td class=\"field-status\">{re.escape(status)}</td>", html, re.S)

    for n in range(5, 15):
        policy_draft_save(label=f"{n}.0", body_en="Another draft.")
    with CaptureQueriesContext(connection) as many:
        client.get(CHANGELIST)
    assert len(many) == len(few)


def test_a_script_in_a_draft_is_not_run_in_the_admin_preview(client, privacy_officer):
    version = policy_draft_save(label="2.0", body_en='# Policy\n\n<script>alert("x")</script>\n\nPlain words.')
    client.force_login(privacy_officer)
    html = client.get(change_url(version)).content.decode()
    assert '<script>alert("x")</script>' not in html
    assert "<p>Plain words.</p>" in html  # the preview, rendered and sanitised
    now = timezone.now()
    policy_publish(version=version, effective_at=now + notice_period(material=False), now=now)
    assert '<script>alert("x")</script>' not in client.get(change_url(version)).content.decode()
