"""The two notices: to the supervisory authority (both languages, GDPR Art. 33(3) and PIPL Art. 57), and to each
affected client by e-mail and SMS in their language, exactly once, after a second privacy officer approved."""

import re
from datetime import date, timedelta

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import Client
from breaches.client_notices import breach_subjects_notify, released_subjects_notify
from breaches.models import Breach, BreachSubject
from breaches.services import (
    breach_authority_notified,
    breach_notice_request,
    breach_notice_send,
    breach_subjects_select,
    breach_update,
)
from notify import sms
from notify.models import OutboundMessage
from tests.conftest import make_client

from .conftest import TEXTS, make_breach
from .test_selection import withheld_disclosure_to_police

pytestmark = pytest.mark.django_db
CJK = re.compile(r"[\u4e00-\u9fff]")


def with_subjects(officer, clients, **kwargs):
    breach = make_breach(officer, **kwargs)
    breach_subjects_select(breach=breach, actor=officer, scope="client-list",
                           client_text="\n".join(str(c.public_id) for c in clients))
    return breach


def test_authority_notice_has_the_article_33_content_in_both_languages(client, officer):
    clients = [make_client(f"a{i}@example.com") for i in range(3)]
    breach = with_subjects(officer, clients, approx_records=900, categories=["email", "phone"])
    client.force_login(officer)
    markdown = client.get(reverse("admin:breaches_breach_notice", args=[breach.pk]), {"format": "md"})
    assert markdown["Content-Type"].startswith("text/markdown")
    assert f'breach-BR-{breach.pk:04d}-notice.md' in markdown["Content-Disposition"]
    english, chinese = markdown.content.decode().split("\n---\n")
    for heading in ["(a) Nature of the breach", "(a) Categories of personal data", "(a) Approximate number of data subjects",
                    "(a) Approximate number of personal data records", "(b) Data protection officer",
                    "(c) Likely consequences", "(d) Measures taken or proposed", "PIPL Art. 57(3)"]:
        assert heading in english
    assert TEXTS["nature"] in english and TEXTS["consequences"] in english and TEXTS["measures"] in english
    assert "Email address, Phone number" in english and "About 900" in english and "3 clients identified so far" in english
    assert "DPO, dpo@fulfillmen.example" in english and "left" in english  # the clock: notified within 72 hours
    assert TEXTS["nature_zh"] in chinese and TEXTS["measures_zh"] in chinese and TEXTS["consequences_zh"] in chinese
    assert "个人信息泄露" in chinese and "电子邮箱地址" in chinese and "(a) Nature" not in chinese
    html = client.get(reverse("admin:breaches_breach_notice", args=[breach.pk])).content.decode()
    assert '<article lang="zh-hans">' in html and TEXTS["nature_zh"] in html and "(d) Measures taken" in html


def test_authority_notice_escapes_what_staff_wrote(client, officer):
    breach = make_breach(officer, nature="<script>alert(1)</script>")
    client.force_login(officer)
    html = client.get(reverse("admin:breaches_breach_notice", args=[breach.pk])).content.decode()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_breach_notice_reaches_each_affected_client_once_by_email_and_sms_in_their_language(
        officer, officer2, django_capture_on_commit_callbacks, settings):
    settings.SMS_URL = "memory:"
    english = make_client("en@example.com", full_name="Anna Schmidt")
    chinese = make_client("zh@example.com", country="CN", phone="+8613800138000", full_name="王芳",
                          preferred_language="zh-hans")
    no_phone = make_client("nophone@example.com", phone="")
    erased = make_client("erased@example.com")
    breach = with_subjects(officer, [english, chinese, no_phone, erased])
    Client.objects.filter(pk=erased.pk).update(erased_at=timezone.now())  # as the erasure leaves it (plain row)
    mail.outbox.clear()
    sms.outbox.clear()
    breach_notice_request(breach=breach, actor=officer)
    with django_capture_on_commit_callbacks(execute=True):
        told = breach_notice_send(breach=breach, approver=officer2)
    assert told == 3
    rows = OutboundMessage.objects.filter(kind="breach-notice")
    assert sorted(rows.values_list("client__email", "channel", "status")) == [
        ("en@example.com", "email", "sent"), ("en@example.com", "sms", "sent"),
        ("nophone@example.com", "email", "sent"), ("nophone@example.com", "sms", "skipped"),
        ("zh@example.com", "email", "sent"), ("zh@example.com", "sms", "sent")]
    assert rows.get(client=no_phone, channel="sms").last_error == "No mobile number on file."
    assert sorted(m.to[0] for m in mail.outbox) == ["en@example.com", "nophone@example.com", "zh@example.com"]
    to_english = next(m for m in mail.outbox if m.to == ["en@example.com"])
    assert "Hello Anna Schmidt" in to_english.body and TEXTS["nature"] in to_english.body
    assert TEXTS["client_advice"] in to_english.body and "DPO, dpo@fulfillmen.example" in to_english.body
    to_chinese = next(m for m in mail.outbox if m.to == ["zh@example.com"])
    assert CJK.search(to_chinese.subject) and TEXTS["nature_zh"] in to_chinese.body and "Hello" not in to_chinese.body
    assert sorted(m["to"] for m in sms.outbox) == [english.phone, chinese.phone]
    assert CJK.search(next(m["body"] for m in sms.outbox if m["to"] == chinese.phone))
    subjects = {s.client_id: s.notified_at for s in BreachSubject.objects.filter(breach=breach)}
    assert subjects[erased.pk] is None and all(subjects[c.pk] for c in (english, chinese, no_phone))

    # Publishing again sends nothing new: no client is waiting, and the outbox keys hold even if forced.
    with pytest.raises(ValidationError, match="No affected client is waiting"):
        breach_notice_request(breach=breach, actor=officer)
    BreachSubject.objects.filter(breach=breach).update(notified_at=None)  # as if the log of who was told were lost
    with django_capture_on_commit_callbacks(execute=True):
        assert breach_subjects_notify(breach=breach) == 3  # marked told again, but no message is made or sent twice
    assert rows.count() == 6 and len(mail.outbox) == 3 and len(sms.outbox) == 2
    assert Breach.objects.get(pk=breach.pk).clients_notified_at is not None


def test_client_notice_needs_a_second_privacy_officer_and_freezes_the_texts(officer, officer2):
    breach = with_subjects(officer, [make_client()])
    with pytest.raises(ValidationError, match="No notice is waiting"):
        breach_notice_send(breach=breach, approver=officer2)
    breach_notice_request(breach=breach, actor=officer)
    with pytest.raises(PermissionDenied, match="cannot also approve"):
        breach_notice_send(breach=breach, approver=officer)
    with pytest.raises(ValidationError, match="append a note"):
        breach_update(breach=breach, actor=officer2, changes={"client_advice": "Something else"})
    assert not OutboundMessage.objects.filter(kind="breach-notice").exists()
    assert breach_notice_send(breach=breach, approver=officer2) == 1


def test_a_client_notice_without_the_chinese_texts_is_not_prepared(officer):
    breach = with_subjects(officer, [make_client()], client_advice_zh="")
    with pytest.raises(ValidationError, match="English and Chinese"):
        breach_notice_request(breach=breach, actor=officer)


def test_the_notice_pages_ask_for_confirmation_and_show_the_four_eyes_rule(client, officer, officer2):
    breach = with_subjects(officer, [make_client()])
    client.force_login(officer)
    url = reverse("admin:breaches_breach_notice_request", args=[breach.pk])
    assert client.post(url, {}).status_code == 400  # the confirmation box left empty
    assert client.post(url, {"confirm": "on"}).status_code == 302
    send = reverse("admin:breaches_breach_notice_send", args=[breach.pk])
    page = client.post(send, {"confirm": "on"})
    assert page.status_code == 400 and "cannot also approve" in page.content.decode()
    client.force_login(officer2)
    assert client.post(send, {"confirm": "on"}).status_code == 302
    assert OutboundMessage.objects.filter(kind="breach-notice").count() == 2


def test_a_client_kept_back_by_a_withheld_disclosure_is_told_once_it_ends(officer, officer2, time_machine=None):
    gagged, plain = make_client("gagged@example.com"), make_client("plain@example.com")
    withheld_disclosure_to_police(gagged)
    breach = with_subjects(officer, [plain])
    BreachSubject.objects.create(breach=breach, client=gagged, categories=["email"], selected_at=timezone.now(),
                                 withheld_until=date.today() + timedelta(days=60))  # as a superuser's selection leaves it
    breach_notice_request(breach=breach, actor=officer)
    assert breach_notice_send(breach=breach, approver=officer2) == 1
    assert not OutboundMessage.objects.filter(client=gagged).filter(kind="breach-notice").exists()
    assert released_subjects_notify() == 0
    BreachSubject.objects.filter(client=gagged).update(withheld_until=date.today())  # the requirement has ended
    assert released_subjects_notify() == 1 and released_subjects_notify() == 0
    assert OutboundMessage.objects.filter(client=gagged, kind="breach-notice").count() == 2


def test_notified_breach_shows_in_your_data_only_once_the_client_was_told(client, officer, officer2):
    owner, other = make_client(), make_client("other@example.com", preferred_language="zh-hans")
    breach = with_subjects(officer, [owner, other])
    breach_authority_notified(breach=breach, actor=officer, authority_name="CAC", notified_at=timezone.now())
    client.force_login(owner.user)
    url = reverse("rights:data_category", args=["breaches"])
    assert TEXTS["nature"] not in client.get(url).content.decode()
    breach_notice_request(breach=breach, actor=officer)
    breach_notice_send(breach=breach, approver=officer2)
    page = client.get(url).content.decode()
    assert TEXTS["nature"] in page and f"BR-{breach.pk:04d}" in page and TEXTS["client_advice"] in page
    client.force_login(other.user)
    assert TEXTS["nature_zh"] in client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
