"""The record of processing (GDPR Art. 30; PIPL Art. 55-56, issue #18.7): generated from the live catalogue by
`manage.py processing_records` and in the admin, as HTML and CSV, in English and Chinese; read by privacy officers,
Legal and superusers only; linked from the privacy dashboard with what lacks a current impact assessment."""

import csv
import io
import os
import subprocess
import sys
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape

from accounts.jurisdictions import storage_location_label
from accounts.models import User
from consent.models import Purpose
from consent.services import purpose_save
from processing.record import processing_record
from processing.render import record_render
from processing.security import MEASURES
from rights.inventory import CATEGORIES
from sharing.models import Affiliate
from tests.conftest import PASSWORD

from .conftest import recipient
from .helpers import assessments_approve

pytestmark = pytest.mark.django_db

RECORD = reverse("processing:record")
DASHBOARD = reverse("oversight:dashboard")


def file_url(language="en", fmt="html"):
    return reverse("processing:record_file", kwargs={"language": language, "fmt": fmt})


@pytest.fixture
def catalogue():
    """A processor abroad under standard contractual clauses, a partner in China, a former recipient abroad.

    The processor sends Fulfillmen's own offers (a processor only works for Fulfillmen's own purposes). The former
    recipient was recorded before transfer mechanisms were asked for (sharing migration 0006 gave every recipient
    "none"), and the record shows it so."""
    mailer = recipient("Mailer Inc", country="US", kind=Affiliate.Kind.PROCESSOR, purpose="marketing-messages",
                       address="1 Market St, San Francisco", rights_contact="privacy@mailer.example",
                       transfer_mechanism=Affiliate.TransferMechanism.PIPL_STANDARD_CONTRACT,
                       transfer_mechanism_reference="CAC-SC-2026-0001")
    partner = recipient("Shenzhen Dropship", country="CN", kind=Affiliate.Kind.DROPSHIP_PARTNER, purpose="order-fulfilment",
                        fields=("name", "shipping_address"))
    former = recipient("Former Ads", country="SG", kind=Affiliate.Kind.AFFILIATED_COMPANY, active=False)
    Affiliate.objects.filter(pk=former.pk).update(transfer_mechanism=Affiliate.TransferMechanism.NONE,
                                                  transfer_mechanism_reference="")
    former.refresh_from_db()
    return mailer, partner, former


def csv_rows(text):
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_processing_record_lists_every_purpose_recipient_transfer_and_retention_from_the_live_catalogue(catalogue, tmp_path):
    mailer, partner, former = catalogue
    marketing = Purpose.objects.get(code="marketing-messages")
    marketing.title_en = "Offers from Fulfillmen, renamed today"
    purpose_save(purpose=marketing)
    out = tmp_path / "record.html"
    call_command("processing_records", "--output", str(out), stderr=io.StringIO())
    page = out.read_text(encoding="utf-8")

    assert page.startswith("<!doctype html>") and '<html lang="en">' in page
    controller = settings.PII_CONTROLLER
    for value in (controller["name"], controller["address"], controller["email"], controller["dpo_name"],
                  controller["dpo_email"], storage_location_label()):
        assert escape(value) in page
    for purpose in Purpose.objects.all():
        assert f'data-reference="{purpose.code}"' in page
    assert "Offers from Fulfillmen, renamed today" in page  # live, not a copy made at some earlier time
    for affiliate in (mailer, partner, former):
        assert f'data-reference="{affiliate.public_id}"' in page
    assert "Processor" in page and "1 Market St, San Francisco" in page and "privacy@mailer.example" in page
    assert "PIPL standard contract filed with the CAC" in page and "CAC-SC-2026-0001" in page

    record = processing_record()
    transfers = next(s for s in record.sections if s.slug == "transfers")
    # Abroad: the US processor; not the partner in China; not the recipient switched off... still listed with its
    # agreement and "Recipient active: No", since the agreement has not ended.
    abroad = {entry.name: {f.label: f.value for f in entry.facts} for entry in transfers.entries}
    assert set(abroad) == {"Mailer Inc", "Former Ads"}
    assert abroad["Mailer Inc"]["Recipient's country or region"] == "United States of America (US)"
    assert abroad["Mailer Inc"]["Data stored in"] == storage_location_label()
    assert abroad["Former Ads"]["Transfer mechanism"] == "None recorded" and abroad["Former Ads"]["Recipient active"] == "No"

    purposes = {e.reference: {f.label: f.value for f in e.facts} for e in record.sections[1].entries}
    assert "Mailer Inc (United States of America (US))" in purposes["marketing-messages"]["Named recipients"]
    assert "Former Ads" not in purposes["promotional-sharing"]["Named recipients"]  # inactive: receives nothing
    assert purposes["order-fulfilment"]["Transfer outside China"] == "Yes"
    assert purposes["order-fulfilment"]["Impact assessment"].startswith("Approved on")
    assert purposes["identification"]["Impact assessment"] == "Not required"

    for category in CATEGORIES:
        assert f'data-reference="{category.code}"' in page and escape(str(category.retention)) in page
    for measure in MEASURES:
        assert str(measure.title) in page


def test_processing_record_in_chinese_and_csv(catalogue, tmp_path):
    out = tmp_path / "record.csv"
    call_command("processing_records", "--format", "csv", "--language", "zh-hans", "--output", str(out), stderr=io.StringIO())
    rows = csv_rows(out.read_text(encoding="utf-8"))
    assert rows[0] == ["记录部分", "编号", "对象", "项目", "内容"]
    sections = {row[0] for row in rows[1:]}
    assert {"个人信息处理者", "处理目的", "接收方", "向境外提供", "保存期限", "安全措施", "个人信息保护影响评估"} <= sections
    subjects = {row[1]: row[2] for row in rows[1:]}
    for purpose in Purpose.objects.all():
        assert subjects[purpose.code] == purpose.title_zh_hans
    mailer = Affiliate.objects.get(name="Mailer Inc")
    facts = {row[3]: row[4] for row in rows if row[1] == str(mailer.public_id)}
    assert facts["国家/地区"] == "美国 (US)" and facts["类型"] == "受托处理者"
    assert all(len(row) == 5 for row in rows)

    with translation.override("zh-hans"):
        html = record_render(fmt="html", language="zh-hans")
    assert '<html lang="zh-hans">' in html and "个人信息处理活动记录" in html and "Record of processing" not in html
    assert translation.get_language() == "en"  # rendering Chinese leaves the caller's language as it was


def test_a_spreadsheet_formula_in_a_recipient_name_is_defused_in_the_csv(db):
    recipient('=HYPERLINK("http://x")', country="US")
    rows = csv_rows(record_render(fmt="csv", language="en"))
    assert not any(cell.startswith("=") for row in rows for cell in row)
    assert any(row[2] == '\'=HYPERLINK("http://x")' for row in rows)


def manage(*args):
    env = {**os.environ, "DEBUG": "true"}
    return subprocess.run([sys.executable, "manage.py", "processing_records", *args], cwd=settings.BASE_DIR, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args, error", [
    (["--format", "pdf"], "invalid choice: 'pdf'"),
    (["--language", "fr"], "invalid choice: 'fr'"),
    (["--output", "{missing}/record.html"], "does not exist"),
    (["--output", "{dir}"], "is a directory"),
    (["--colour", "red"], "unrecognized arguments"),
])
def test_processing_records_refuses_bad_arguments_with_exit_code_2_and_writes_nothing(tmp_path, args, error):
    before = sorted(tmp_path.rglob("*"))
    args = [a.format(missing=tmp_path / "no-such-dir", dir=tmp_path) for a in args]
    if "--output" not in args:
        args += ["--output", str(tmp_path / "record.out")]
    result = manage(*args)
    assert result.returncode == 2, result.stderr
    assert error in result.stderr and result.stdout == ""
    assert sorted(tmp_path.rglob("*")) == before


def test_support_agent_cannot_read_the_record_of_processing(client, catalogue, privacy_officer, support_agent, legal_user,
                                                            owner):
    for user in (privacy_officer, legal_user):
        client.force_login(user)
        page = client.get(RECORD)
        assert page.status_code == 200 and "Mailer Inc" in page.content.decode()
        for language in ("en", "zh-hans"):
            for fmt in ("html", "csv"):
                response = client.get(file_url(language, fmt))
                assert response.status_code == 200 and response["Content-Language"] == language
                assert response["Content-Disposition"].startswith("attachment;")
    assert client.get(file_url("en", "csv")).content.decode() == record_render(fmt="csv", language="en")
    assert client.get(file_url("fr", "pdf")).status_code == 404

    client.force_login(support_agent)
    for url in (RECORD, file_url("en", "html"), file_url("zh-hans", "csv")):
        assert client.get(url).status_code == 403
    for login in (owner.user, None):  # a client, and nobody: the admin's log-in, nothing of the record
        client.logout()
        if login:
            client.force_login(login)
        for url in (RECORD, file_url("en", "csv")):
            response = client.get(url)
            assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))


def test_superuser_reads_the_record_in_chinese_from_the_admin(client, catalogue):
    root = User.objects.create_superuser("root@example.com", PASSWORD)
    client.force_login(root)
    page = client.get(RECORD, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "个人信息处理活动记录" in page and "受托处理者" in page


def test_privacy_dashboard_links_the_record_and_warns_of_missing_or_overdue_assessments(client, privacy_officer):
    client.force_login(privacy_officer)
    page = client.get(DASHBOARD).content.decode()
    assert f'href="{RECORD}"' in page and f'href="{file_url("zh-hans", "csv")}"' in page
    # The catalogue's two purposes that send data abroad, and the two processors the portal seeds (e-mail and SMS
    # delivery, with agreements in force), have no assessment yet.
    processors = list(seeded_processors())
    assert len(processors) == 2
    for code in ("order-fulfilment", "promotional-sharing"):
        assert Purpose.objects.get(code=code).title_en in page
    for processor in processors:
        assert f"{escape(processor.name)} — no approved assessment" in page
    assert "4 purposes or recipients lack a current impact assessment" in page

    for code in ("order-fulfilment", "promotional-sharing"):
        assessments_approve(purpose=Purpose.objects.get(code=code))
    for processor in processors:
        assessments_approve(recipient=processor)
    mailer = recipient("Mailer Inc", country="US")
    page = client.get(DASHBOARD).content.decode()
    assert "lack a current impact assessment" not in page and "has a current, approved impact assessment" in page

    with time_machine.travel(timezone.now() + timedelta(days=400), tick=False):
        client.force_login(privacy_officer)  # the session of 400 days ago has long ended
        page = client.get(DASHBOARD).content.decode()
        assert "5 purposes or recipients lack a current impact assessment" in page  # 2 purposes, 3 recipients
        for affiliate in (mailer, *processors):
            assert f"{escape(affiliate.name)} — review overdue since" in page
        assert Purpose.objects.get(code="promotional-sharing").title_en in page


def seeded_processors():
    """The processors sharing migration 0008 seeds, each holding agreements in force (so receiving data)."""
    return Affiliate.objects.filter(kind=Affiliate.Kind.PROCESSOR, agreements__isnull=False).distinct().order_by("name")


def test_database_check_warns_of_a_receiving_recipient_without_a_current_assessment(db):
    err = io.StringIO()
    call_command("check", "--database", "default", stderr=err, stdout=io.StringIO())
    assert "processing.W001" in err.getvalue()
    assert f"purpose “{Purpose.objects.get(code='order-fulfilment').title_en}” has no approved" in err.getvalue()
    for code in ("order-fulfilment", "promotional-sharing"):
        assessments_approve(purpose=Purpose.objects.get(code=code))
    for processor in seeded_processors():  # seeded with agreements in force (sharing migration 0008)
        assert f"recipient “{processor.name}” has no approved" in err.getvalue()
        assessments_approve(recipient=processor)
    recipient("Mailer Inc", country="US")
    err = io.StringIO()
    call_command("check", "--database", "default", stderr=err, stdout=io.StringIO())
    assert "processing.W001" not in err.getvalue()
    with time_machine.travel(timezone.now() + timedelta(days=400), tick=False):
        err = io.StringIO()
        call_command("check", "--database", "default", stderr=err, stdout=io.StringIO())
        assert "the impact assessment of recipient “Mailer Inc” was due for review" in err.getvalue()


def test_the_record_holds_no_client_data(client, catalogue, owner, privacy_officer):
    text = record_render(fmt="csv", language="en") + record_render(fmt="html", language="en")
    for secret in (owner.email, owner.full_name, str(owner.public_id), owner.phone):
        assert str(secret) not in text
