"""The public policy pages: what anyone can read, save and compare without logging in (PIPL Art. 17)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from amendments.services import notice_period, policy_draft_save, policy_publish

pytestmark = pytest.mark.django_db

CURRENT = reverse("policy:current")
VERSIONS = reverse("policy:versions")
DIFF = reverse("policy:diff")

V1 = "# Privacy policy\n\nWe collect your name and email.\n\nWe share your IP address with affiliates."
V2 = "# Privacy policy\n\nWe collect your name and email.\n\nWe share nothing for promotions.\n\nYou can object at any time."
V2_ZH = "# 隐私政策\n\n我们收集您的姓名和电子邮件。"


def published(label, body, *, effective_in_days, material=False, **fields):
    """A version published through the services; one already in force was published with its full notice period."""
    effective_at = timezone.now() + timedelta(days=effective_in_days)
    published_at = min(timezone.now(), effective_at - notice_period())
    draft = policy_draft_save(label=label, body_en=body, is_material=material, **fields)
    return policy_publish(version=draft, effective_at=effective_at, now=published_at)


def page(client, url, status=200, **extra):
    response = client.get(url, **extra)
    assert response.status_code == status
    return response.content.decode()


def test_the_policy_page_shows_the_text_of_the_version_in_force_with_its_label(client):
    published("1.0", V1, effective_in_days=-60)
    published("2.0", V2, effective_in_days=-10, summary="Promotions end.")
    html = page(client, CURRENT)
    assert "<h2>Privacy policy</h2>" in html and "<p>We share nothing for promotions.</p>" in html
    assert html.count("<h1") == 1  # the page's own title; the text's headings sit one level below
    assert "We share your IP address" not in html
    assert "Version 2.0, in force since" in html
    assert f'href="{reverse("policy:markdown", args=["2.0"])}"' in html
    assert "takes effect on" not in html


def test_a_published_version_not_yet_in_force_is_announced_with_its_summary_and_a_link_to_what_changes(client):
    published("1.0", V1, effective_in_days=-60)
    published("2.0", V2, effective_in_days=31, material=True, summary="We stop sharing for promotions.")
    html = page(client, CURRENT)
    assert "<p>We share your IP address with affiliates.</p>" in html  # 1.0 still applies
    assert "Version 2.0 takes effect on" in html and "We stop sharing for promotions." in html
    assert "This is a material change." in html
    assert f'href="{DIFF}?from=1.0&amp;to=2.0"' in html


def test_the_chinese_page_shows_the_chinese_text_and_falls_back_to_english_without_one(client):
    published("1.0", V1, effective_in_days=-60)
    assert "We collect your name" in page(client, CURRENT, HTTP_ACCEPT_LANGUAGE="zh-hans")
    published("2.0", V2, effective_in_days=-1, body_zh_hans=V2_ZH)
    html = page(client, CURRENT, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "<p>我们收集您的姓名和电子邮件。</p>" in html and 'lang="zh-hans"' in html


def test_drafts_are_never_shown_to_the_public(client):
    published("1.0", V1, effective_in_days=-60)
    policy_draft_save(label="3.0-draft", body_en="# Secret plans\n\nWe will sell everything.")
    assert client.get(reverse("policy:version", args=["3.0-draft"])).status_code == 404
    assert client.get(reverse("policy:markdown", args=["3.0-draft"])).status_code == 404
    assert client.get(reverse("policy:version", args=["9.9"])).status_code == 404
    for url in [CURRENT, VERSIONS, DIFF]:
        html = page(client, url)
        assert "3.0-draft" not in html and "Secret plans" not in html
    html = page(client, f"{DIFF}?from=1.0&to=3.0-draft", status=400)  # exactly as for a label that does not exist
    assert "There is no published version “3.0-draft”." in html and "Secret plans" not in html


def test_the_history_lists_every_published_version_newest_first_in_few_queries(client, django_assert_max_num_queries):
    for n in range(1, 6):
        published(f"{n}.0", V1 + f"\n\nRevision {n}.", effective_in_days=-100 + 10 * n, summary=f"Change {n}.")
    published("6.0", V2, effective_in_days=40, material=True, summary="Upcoming change.")
    policy_draft_save(label="7.0", body_en="A draft.")
    with django_assert_max_num_queries(4):
        html = page(client, VERSIONS)
    positions = [html.index(f'href="{reverse("policy:version", args=[f"{n}.0"])}"') for n in range(6, 0, -1)]
    assert positions == sorted(positions)
    assert reverse("policy:version", args=["7.0"]) not in html and ">7.0<" not in html  # the draft (not "37.033")
    assert "Upcoming change." in html and "Change 1." in html
    assert html.count(">In force<") == 1 and html.count(">Upcoming<") == 1 and html.count(">Superseded<") == 4


def test_a_version_page_shows_its_dates_its_text_and_a_link_to_what_changed_since_the_one_before(client):
    published("1.0", V1, effective_in_days=-60)
    published("2.0", V2, effective_in_days=-10, material=True, summary="Promotions end.")
    html = page(client, reverse("policy:version", args=["1.0"]))
    assert "Privacy policy, version 1.0" in html and "<p>We share your IP address with affiliates.</p>" in html
    assert "Superseded" in html and "What changed since" not in html
    html = page(client, reverse("policy:version", args=["2.0"]))
    assert "In force" in html and "Promotions end." in html and "Yes: new recipients" in html
    assert f'href="{DIFF}?from=1.0&amp;to=2.0"' in html


def test_the_markdown_download_is_the_text_as_published_in_the_language_asked_for(client):
    published("2.0", V2, effective_in_days=-1, body_zh_hans=V2_ZH)
    response = client.get(reverse("policy:markdown", args=["2.0"]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="fulfillmen-privacy-policy-2.0.en.md"'
    assert response.content.decode() == V2

    response = client.get(reverse("policy:markdown", args=["2.0"]), {"lang": "zh-hans"})
    assert response.content.decode("utf-8") == V2_ZH and response["Content-Language"] == "zh-hans"
    assert "policy-2.0.zh-hans.md" in response["Content-Disposition"]
    # Without ?lang the page language decides.
    response = client.get(reverse("policy:markdown", args=["2.0"]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.content.decode("utf-8") == V2_ZH


def test_the_diff_marks_added_and_removed_paragraphs_with_words_and_elements(client):
    published("1.0", V1, effective_in_days=-60)
    published("2.0", V2, effective_in_days=-10)
    html = page(client, f"{DIFF}?from=1.0&to=2.0")
    assert '<del><p>We share your IP address with affiliates.</p></del>' in html
    assert '<ins><p>We share nothing for promotions.</p></ins>' in html
    assert '<ins><p>You can object at any time.</p></ins>' in html
    assert '<div class="diff-block diff-block--same"><p>We collect your name and email.</p></div>' in html
    assert '<div class="diff-block diff-block--same"><h2>Privacy policy</h2></div>' in html
    assert ">Added<" in html and ">Removed<" in html
    assert "2 paragraphs added" in html and "1 paragraph removed" in html
    assert '<select name="from"' in html and '<button type="submit" class="button">Compare</button>' in html


def test_the_diff_compares_the_previous_version_with_the_latest_by_default(client):
    published("1.0", "Old words.", effective_in_days=-60)
    published("2.0", V1, effective_in_days=-30)
    published("3.0", V2, effective_in_days=35, material=True)
    html = page(client, DIFF)
    assert "From version 2.0 to version 3.0" in html
    assert '<option value="2.0" selected>' in html and "Old words." not in html


@pytest.mark.parametrize("query, message", [
    ("?from=1.0&to=nope", "There is no published version “nope”."),
    ("?from=1.0", "Choose a version."),
    ("?to=1.0&from=", "Choose a version."),
    ("?from=1.0&to=1.0", "Choose two different versions to compare."),
    ("?from=%3Cscript%3E&to=2.0", "There is no published version “&lt;script&gt;”."),
])
def test_a_bad_or_missing_label_gets_a_clear_400_page(client, query, message):
    published("1.0", V1, effective_in_days=-60)
    published("2.0", V2, effective_in_days=-10)
    html = page(client, DIFF + query, status=400)
    assert message in html and "Please correct the error below." in html
    assert "<script>" not in html


def test_a_script_in_the_markdown_never_reaches_a_page_unescaped(client):
    published("1.0", V1, effective_in_days=-60)
    evil = V1 + '\n\n<script>alert("x")</script>\n\n<img src=x onerror=alert(1)>\n\n[click](javascript:alert(1))'
    draft = policy_draft_save(label="2.0", body_en=evil, summary='<script>alert("summary")</script>')
    now = timezone.now()
    policy_publish(version=draft, effective_at=now, now=now - notice_period(material=False))
    for url in [CURRENT, VERSIONS, reverse("policy:version", args=["2.0"]), f"{DIFF}?from=1.0&to=2.0"]:
        html = page(client, url)
        assert "<script" not in html and "onerror" not in html and "javascript:" not in html, url
    download = client.get(reverse("policy:markdown", args=["2.0"]))
    assert download["Content-Disposition"].startswith("attachment;")  # the raw text is saved, never displayed
    assert download["X-Content-Type-Options"] == "nosniff"


def test_every_page_links_to_the_privacy_policy(client):
    assert f'<a href="{CURRENT}"' in page(client, reverse("home"))
    assert "No version of the privacy policy is in force yet." in page(client, CURRENT)
