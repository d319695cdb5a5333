"""The public consent log as people meet it (issue #17): each event's place and proof on the client's history page,
the public page that explains the log, the sentence of the receipt e-mail, and the privacy officer's dashboard line."""

import base64
import html
import json
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client as Browser
from django.urls import reverse

from consent.models import ConsentEvent
from consent.services import consent_receipt_send
from notify.models import OutboundMessage
from tests.conftest import make_client
from tools.verify_receipt import NoteVerifier, leaf_hash, open_note, parse_checkpoint, verify_inclusion
from transparency_log.checkpoints import checkpoint_publish, log_signer
from transparency_log.models import LogLeaf

from .conftest import consent_changes

pytestmark = pytest.mark.django_db

HISTORY, LOG_PAGE, DASHBOARD = reverse("consent:history"), reverse("consent_log:about"), reverse("oversight:dashboard")
PROOF_LINK = re.compile(r'href="/transparency/log/proof/inclusion\?index=(\d+)&amp;size=(\d+)"')
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
NOW = datetime(2026, 3, 11, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


def text_of(response) -> str:
    """The page as a reader gets it: no tags, entities decoded, runs of white space (no-break spaces too) as one."""
    assert response.status_code == 200
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


def history_of(client, **headers) -> tuple[str, list[tuple[int, int]]]:
    browser = Browser(**headers)
    browser.force_login(client.user)
    page = browser.get(HISTORY)
    return text_of(page), [(int(i), int(n)) for i, n in PROOF_LINK.findall(page.content.decode())]


def history_of_page(client) -> str:
    browser = Browser()
    browser.force_login(client.user)
    return browser.get(HISTORY).content.decode()


def log_index(event) -> int:
    return LogLeaf.objects.get(event=event).index


# --- the client's history page --------------------------------------------------------------------------------------


def test_the_history_page_links_each_event_to_a_proof_that_verifies_against_the_signed_checkpoint(owner):
    consent_changes(owner, 3)
    checkpoint_publish()
    text, links = history_of(owner)
    events = ConsentEvent.objects.filter(client=owner)
    assert sorted(index for index, _ in links) == sorted(log_index(event) for event in events)
    verifier = NoteVerifier.from_vkey(log_signer().vkey)
    anyone = Browser()  # the proof and the checkpoint are public: no session needed
    for index, size in links:
        event = LogLeaf.objects.get(index=index).event
        assert f"Included in the public log at index {index}." in text
        proof = anyone.get(reverse("consent_log:inclusion"), {"index": index, "size": size})
        assert proof.status_code == 200 and proof["Content-Type"] == "application/json"
        checkpoint = parse_checkpoint(open_note(anyone.get(reverse("consent_log:checkpoints"), {"size": size})
                                                .content.decode(), verifier))
        verify_inclusion(index, size, leaf_hash(bytes.fromhex(event.entry_hash)),
                         [base64.b64decode(value) for value in proof.json()["proof"]], checkpoint.root_hash)


def test_an_event_links_to_the_first_checkpoint_that_included_it_not_the_latest(owner):
    early = consent_changes(owner, 2)
    first = checkpoint_publish()
    late = consent_changes(owner, 2)
    second = checkpoint_publish()
    sizes = dict(history_of(owner)[1])
    assert {sizes[log_index(event)] for event in early} == {first.tree_size}
    assert {sizes[log_index(event)] for event in late} == {second.tree_size}


def test_the_proof_link_says_what_it_is_and_for_which_change(owner):
    event = consent_changes(owner, 1)[0]
    checkpoint_publish()
    newest = re.search(r'<a href="/transparency/log/proof/inclusion\?[^"]+">(.*?)</a>', history_of_page(owner), re.S)
    words = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", newest.group(1)))).strip()
    assert words.startswith(f"See the inclusion proof ({event.purpose.title}, ")


def test_before_a_checkpoint_the_history_page_says_the_change_will_be_in_the_log_within_about_a_minute(owner):
    consent_changes(owner, 2)
    text, links = history_of(owner)
    assert not links and "Included in the public log" not in text
    assert text.count("Not in the public log yet: it will be within about a minute.") == ConsentEvent.objects.filter(
        client=owner).count()


def test_the_pending_sentence_follows_the_checkpoint_interval(owner, settings):
    consent_changes(owner, 1)
    settings.LOG_CHECKPOINT_SECONDS = 300
    assert "Not in the public log yet: it will be within about 5 minutes." in history_of(owner)[0]


def test_without_a_scheduler_the_pending_sentence_promises_no_time(owner, settings):
    consent_changes(owner, 1)
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the quick start: `manage.py publish_checkpoint` publishes checkpoints
    text = history_of(owner)[0]
    assert "Not in the public log yet: it will be when the next checkpoint is published." in text
    assert "minute" not in text


def test_the_history_page_in_chinese_gives_the_index_and_the_pending_sentence_in_chinese(db):
    zh_client = make_client("zh@example.com", country="CN", phone="+8613800138000", full_name="王芳",
                            preferred_language="zh-hans")
    consent_changes(zh_client, 1)
    text, links = history_of(zh_client, **ZH)
    assert "尚未收录于公开日志：大约 1 分钟内即会收录。" in text and "公开日志" in text
    checkpoint_publish()
    consent_changes(zh_client, 1)  # one more, not yet in a checkpoint
    text, links = history_of(zh_client, **ZH)
    assert links and all(f"已收录于公开日志，序号为 {index}。" in text for index, _ in links)
    assert "查看收录证明" in text and text.count("尚未收录于公开日志") == 1
    assert "Included in the public log" not in text and "Not in the public log yet" not in text


def test_another_clients_history_never_shows_the_owners_indexes(owner, outsider):
    consent_changes(owner, 3)
    consent_changes(outsider, 1)
    checkpoint_publish()
    _text, links = history_of(outsider)
    owners = {log_index(event) for event in ConsentEvent.objects.filter(client=owner)}
    outsiders = {log_index(event) for event in ConsentEvent.objects.filter(client=outsider)}
    assert {index for index, _ in links} == outsiders and not owners & outsiders


def test_the_log_costs_the_history_page_one_query_however_many_events(owner, django_assert_max_num_queries, settings):
    settings.PORTAL_FRAGMENT_SECONDS = 0  # every visit renders the page (tests/consent/test_history_fragments.py: kept)
    consent_changes(owner, 1)
    checkpoint_publish()
    browser = Browser()
    browser.force_login(owner.user)
    browser.get(HISTORY)  # warm up
    with django_assert_max_num_queries(50) as few:
        browser.get(HISTORY)
    consent_changes(owner, 15)
    checkpoint_publish()
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(PROOF_LINK.findall(browser.get(HISTORY).content.decode())) > 15


def test_the_history_page_links_to_the_explanation_of_the_log(owner):
    browser = Browser()
    browser.force_login(owner.user)
    assert f'href="{LOG_PAGE}"' in browser.get(HISTORY).content.decode()


# --- the public page ------------------------------------------------------------------------------------------------


def test_the_public_page_shows_the_verifier_key_the_latest_size_and_the_command(owner, settings):
    consent_changes(owner, 2)
    checkpoint = checkpoint_publish()
    response = Browser().get(LOG_PAGE)
    page, text = response.content.decode(), text_of(response)
    vkey = log_signer().vkey
    assert f"<code>{vkey}</code>" in page
    assert f"Tree size (entries in the log) {checkpoint.tree_size} " in text
    assert (f"python verify_receipt.py consent-receipt-….json --key '{vkey}' --log {settings.SITE_URL}/transparency/log/"
            in text)
    assert "pip install cryptography" in text and f'href="{reverse("consent_log:verifier")}"' in page
    for name in ("checkpoint", "key", "checkpoints", "inclusion", "consistency"):
        assert f"GET {reverse(f'consent_log:{name}')}" in text
    assert "No personal data is published" in text


def test_the_public_page_before_any_checkpoint_says_so(db):
    assert "No checkpoint has been published yet." in text_of(Browser().get(LOG_PAGE))


def test_the_public_page_runs_no_script_and_no_inline_style(owner):
    checkpoint_publish()
    page = Browser().get(LOG_PAGE).content.decode()
    assert "<script" not in page and "style=" not in page and "<style" not in page


def test_the_public_page_in_chinese(owner):
    checkpoint_publish()
    text = text_of(Browser().get(LOG_PAGE, **ZH))
    assert "公开同意日志" in text and "验证您的同意回执" in text and log_signer().vkey in text
    assert "What the log holds" not in text


def test_the_transparency_report_links_to_the_public_log(db):
    assert f'href="{LOG_PAGE}"' in Browser().get(reverse("transparency:report")).content.decode()


# --- the receipt e-mail ---------------------------------------------------------------------------------------------


def test_the_receipt_email_says_how_to_verify_it_and_to_download_it_again_for_the_proof(owner, settings):
    event = consent_changes(owner, 1)[0]
    consent_receipt_send(event=event)
    message = OutboundMessage.objects.get(kind="consent-receipt", client=owner)
    assert ("You can verify this receipt against our public consent log. This e-mail is sent before the log includes "
            "the change, so the attached copy has no proof yet: after about a minute, download the receipt again from "
            f"“Your consent history” in the privacy portal. How to verify it: {settings.SITE_URL}/transparency/log/\n\n"
            "Fulfillmen privacy team") in message.body
    assert json.loads(message.attachment_body)["transparencyLog"]["pending"] is True  # as the e-mail says
    checkpoint_publish()
    browser = Browser()
    browser.force_login(owner.user)
    again = browser.get(reverse("consent:receipt", kwargs={"receipt_id": event.receipt_id})).json()["transparencyLog"]
    assert again["leafIndex"] == log_index(event) and again["inclusionProof"] is not None  # as the e-mail promises


def test_the_receipt_email_in_chinese_explains_the_log_in_chinese(db, settings):
    zh_client = make_client("zh@example.com", country="CN", phone="+8613800138000", full_name="王芳",
                            preferred_language="zh-hans")
    consent_receipt_send(event=consent_changes(zh_client, 1)[0])
    body = OutboundMessage.objects.get(kind="consent-receipt", client=zh_client).body
    assert "您可以对照我们的公开同意日志验证此回执。" in body and "大约 1 分钟后" in body
    assert f"验证方法：{settings.SITE_URL}/transparency/log/" in body and "public consent log" not in body


# --- the privacy officer's dashboard --------------------------------------------------------------------------------


def dashboard(browser) -> str:
    return text_of(browser.get(DASHBOARD))


@pytest.fixture
def officer_browser(privacy_officer):
    browser = Browser()
    browser.force_login(privacy_officer)
    return browser


STALLED = "the Celery beat task that publishes them is not running"


def test_the_dashboard_shows_the_latest_checkpoints_size_and_age(owner, officer_browser):
    with time_machine.travel(NOW, tick=False) as clock:
        consent_changes(owner, 2)
        checkpoint = checkpoint_publish()
        clock.shift(timedelta(minutes=3))
        text = dashboard(officer_browser)
    assert f"Latest checkpoint: tree size {checkpoint.tree_size}, published 3 minutes ago" in text
    assert STALLED not in text


def test_the_dashboard_warns_when_events_wait_and_no_checkpoint_was_ever_published(owner, officer_browser):
    consent_changes(owner, 1)
    text = dashboard(officer_browser)
    assert "No checkpoint has been published yet." in text
    assert "Consent events are waiting for the public log, and no checkpoint has ever been published" in text


def test_the_dashboard_warns_when_events_wait_longer_than_two_checkpoint_intervals(owner, officer_browser):
    with time_machine.travel(NOW, tick=False) as clock:
        checkpoint_publish()
        clock.shift(timedelta(seconds=90))
        consent_changes(owner, 1)
        clock.shift(timedelta(seconds=90))
        text = dashboard(officer_browser)
    assert "Consent events have been waiting for the public log since" in text and STALLED in text
    assert "manage.py publish_checkpoint" in text


def test_the_first_event_after_a_quiet_hour_is_no_alarm(owner, officer_browser):
    with time_machine.travel(NOW, tick=False) as clock:
        checkpoint_publish()
        clock.shift(timedelta(hours=1))
        consent_changes(owner, 1)
        clock.shift(timedelta(seconds=20))  # the beat has not come round yet
        assert STALLED not in dashboard(officer_browser)


def test_an_old_checkpoint_with_nothing_waiting_is_no_alarm(owner, officer_browser):
    with time_machine.travel(NOW, tick=False) as clock:
        consent_changes(owner, 1)
        checkpoint_publish()
        clock.shift(timedelta(days=2))
        text = dashboard(officer_browser)
    assert "published 2 days ago" in text and STALLED not in text


def test_the_dashboard_line_in_chinese(owner, privacy_officer):
    browser = Browser(**ZH)
    browser.force_login(privacy_officer)
    consent_changes(owner, 1)
    text = dashboard(browser)
    assert "公开同意日志" in text and "负责发布检查点的 Celery beat 任务没有运行" in text
