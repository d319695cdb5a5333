"""Export (access and portability): a ZIP of everything, asked for with the password, e-mailed once as a link that
works for 7 days and only for its owner; and a completeness check that no model holding client data is forgotten."""

import csv
import hashlib
import io
import json
import os
import zipfile
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps
from django.core import mail
from django.db import models
from django.test.utils import isolate_apps
from django.urls import reverse

from accounts.models import Client
from accounts.services import address_add
from notify.models import OutboundMessage
from rights.export import build_export, exports_sweep
from rights.inventory import CATEGORIES, EXCLUDED, uncovered_models, unknown_labels
from rights.models import DataExport, DataSubjectRequest
from tests.conftest import PASSWORD

from .test_your_data import give_history

pytestmark = pytest.mark.django_db
EXPORT = reverse("rights:export")
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def media_of_its_own(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def ask(client, owner, *, password=PASSWORD):
    client.force_login(owner.user)
    return client.post(EXPORT, {"password": password})


@pytest.fixture
def built(client, owner, django_capture_on_commit_callbacks):
    """The owner asked for an export and the task built it (the e-mail sent on commit)."""
    with django_capture_on_commit_callbacks(execute=True):
        assert ask(client, owner).status_code == 302
    return DataExport.objects.get(client=owner, request__channel="portal", status="ready")


def download_path(export):
    return reverse("rights:export_download", args=[export.public_id])


def archive_of(export) -> zipfile.ZipFile:
    return zipfile.ZipFile(export.file.path)


# --- what the ZIP holds ---------------------------------------------------------------------------------------------

def test_the_zip_holds_one_data_json_with_every_category_and_a_csv_per_category_for_a_client_with_history(
        client, owner, outsider, django_capture_on_commit_callbacks):
    give_history(owner)
    give_history(outsider, disclosures=False)
    with django_capture_on_commit_callbacks(execute=True):
        ask(client, owner)
    export = DataExport.objects.get(client=owner, status="ready")
    archive = archive_of(export)
    assert set(archive.namelist()) == {"data.json", "README.txt", *(f"{c.code}.csv" for c in CATEGORIES)}

    data = json.loads(archive.read("data.json"))
    assert data["client_id"] == str(owner.public_id) and data["generated_at"]
    assert list(data["categories"]) == [c.code for c in CATEGORIES]
    for code, category in data["categories"].items():
        assert category["purpose"] and category["retention"] and category["legal_basis"], code
        assert category["count"] == len(category["rows"]) >= 1, code
    rows = {code: category["rows"] for code, category in data["categories"].items()}
    assert rows["identity"][0]["email"] == "owner@example.com" and rows["identity"][0]["full_name"] == "Owner Client"
    assert rows["addresses"][0]["line1"] == "Hauptstraße 1"
    assert "198.51.100.1" in {r["ip_address"] for r in rows["ip_addresses"]}
    assert [(r["action"], r["reason"]) for r in rows["consent_history"]][:2] == [("Withdrawn", "Too many ads"), ("Granted", "")]
    assert rows["consent_history"][1]["user_agent"] == "Firefox/140"
    ads = next(r for r in rows["sharing_records"] if r["recipient"] == "Ads Network")
    assert ads["data"] == ["Email address", "IP address"] and ads["recipient_country"] == "Hong Kong"
    assert rows["disclosures"][0]["authority"] == "Shenzhen Public Security Bureau"
    assert rows["disclosures"][0]["request_type"] == "Warrant" and rows["disclosures"][0]["data"] == ["Name", "Phone number"]
    assert rows["withdrawal_notices"][0]["recipient"] == "Ads Network"
    assert {r["kind"] for r in rows["requests"]} >= {"Question", "Export (portability)"}
    assert [r["text"] for r in rows["request_messages"]] == ["Here is the answer (0).", "What do you keep? (0)"]
    assert rows["rectifications"][0]["field"] == "Phone number" and set(rows["rectifications"][0]) == {"field", "corrected_at"}

    document = archive.read("data.json").decode()
    assert "Outside Person" not in document and "outsider@example.com" not in document
    owner.user.refresh_from_db()
    password_hash = owner.user.password.split("$")[-1]
    assert "INTERNAL: checked ID" not in document and password_hash not in document and "a" * 64 not in document

    addresses = list(csv.reader(io.StringIO(archive.read("addresses.csv").decode("utf-8-sig"))))
    assert addresses[0][:3] == ["Kind", "Address line 1", "Address line 2"]
    assert addresses[1][1] == "Hauptstraße 1" and len(addresses) == 2
    history = list(csv.DictReader(io.StringIO(archive.read("consent_history.csv").decode("utf-8-sig"))))
    assert len(history) == len(rows["consent_history"]) and history[0]["Reason given"] == "Too many ads"

    content = export.file.open("rb").read()
    assert export.size == len(content) and export.sha256 == hashlib.sha256(content).hexdigest()
    assert export.file.name.startswith("exports/") and export.request.status == DataSubjectRequest.Status.COMPLETED


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_defused_and_phone_numbers_stay_as_they_are(
        client, owner, django_capture_on_commit_callbacks):
    address_add(client=owner, kind="office", country="DE", line1='=HYPERLINK("http://evil.example")', city="Berlin")
    with django_capture_on_commit_callbacks(execute=True):
        ask(client, owner)
    archive = archive_of(DataExport.objects.get(status="ready"))
    [_header, address] = csv.reader(io.StringIO(archive.read("addresses.csv").decode("utf-8-sig")))
    assert address[1] == '\'=HYPERLINK("http://evil.example")'
    [identity] = csv.DictReader(io.StringIO(archive.read("identity.csv").decode("utf-8-sig")))
    assert identity["Mobile phone"] == owner.phone and owner.phone.startswith("+49")


# --- asking for it --------------------------------------------------------------------------------------------------

def test_the_export_page_says_what_the_file_contains_and_asks_for_the_password(client, owner):
    client.force_login(owner.user)
    html = client.get(EXPORT).content.decode()
    assert "data.json" in html and "consent_history.csv" in html and 'type="password"' in html


def test_a_wrong_password_is_a_form_error_and_creates_nothing(client, owner, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = ask(client, owner, password="not-my-password-at-all")
    assert response.status_code == 400
    assert "That is not your password" in response.content.decode()
    assert not DataExport.objects.exists() and not DataSubjectRequest.objects.exists() and mail.outbox == []


def test_a_second_export_cannot_be_asked_for_while_the_first_is_being_built(client, owner):
    ask(client, owner)  # on_commit never runs in this test's transaction: the export stays "building"
    export = DataExport.objects.get()
    assert export.status == "building" and export.request.kind == "export" and export.request.channel == "portal"
    response = client.post(EXPORT, {"password": PASSWORD}, follow=True)
    assert "already being prepared" in response.content.decode()
    assert DataExport.objects.count() == 1 and DataSubjectRequest.objects.count() == 1
    page = client.get(EXPORT).content.decode()
    assert "Your export is being prepared" in page and 'type="password"' not in page


def test_the_link_is_emailed_to_the_client_once_even_when_the_task_runs_twice(client, owner, built,
                                                                               django_capture_on_commit_callbacks):
    [message] = mail.outbox
    assert message.to == ["owner@example.com"] and "ready" in message.subject
    assert download_path(built) in message.body and "7 days" in message.body
    with django_capture_on_commit_callbacks(execute=True):
        assert build_export.delay(built.pk).get() == "ready"
    assert len(mail.outbox) == 1
    assert OutboundMessage.objects.filter(kind="data-export-ready", client=owner).count() == 1
    assert DataExport.objects.get(pk=built.pk).file.name == built.file.name


# --- fetching it ----------------------------------------------------------------------------------------------------

def test_the_owner_downloads_the_zip_as_an_attachment_and_each_download_is_counted(client, owner, built):
    response = client.get(download_path(built))
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="fulfillmen-your-data-')
    assert hashlib.sha256(b"".join(response.streaming_content)).hexdigest() == built.sha256
    client.get(download_path(built))
    assert DataExport.objects.get(pk=built.pk).downloads == 2


def test_another_client_cannot_fetch_the_owners_export(client, owner, outsider, built):
    client.force_login(outsider.user)
    assert client.get(download_path(built)).status_code == 404
    assert DataExport.objects.get(pk=built.pk).downloads == 0


def test_an_anonymous_visitor_is_sent_to_log_in(client, owner, built):
    client.logout()
    response = client.get(download_path(built))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_link_expires_after_7_days_with_a_page_saying_how_to_ask_again(client, owner,
                                                                          django_capture_on_commit_callbacks):
    asked = datetime(2026, 11, 25, 9, 0, tzinfo=SHANGHAI)
    with time_machine.travel(asked, tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            ask(client, owner)
        export = DataExport.objects.get(status="ready")
        assert export.expires_at == asked + timedelta(days=7)
    with time_machine.travel(asked + timedelta(days=7, minutes=-1), tick=False):
        client.force_login(owner.user)
        assert client.get(download_path(export)).status_code == 200
    with time_machine.travel(asked + timedelta(days=7), tick=False):
        client.force_login(owner.user)
        response = client.get(download_path(export))
        assert response.status_code == 410
        html = response.content.decode()
        assert "This download link has expired" in html and f'href="{EXPORT}"' in html
        assert "Expired: ask for a new one" in client.get(EXPORT).content.decode()


def test_the_sweep_deletes_expired_files_but_keeps_the_record(client, owner, built):
    path = built.file.path
    assert exports_sweep(now=built.expires_at - timedelta(seconds=1))["purged"] == 0
    assert exports_sweep(now=built.expires_at)["purged"] == 1
    built.refresh_from_db()
    assert not built.file and built.sha256 and not os.path.exists(path)
    assert client.get(download_path(built)).status_code == 410


# --- completeness ---------------------------------------------------------------------------------------------------

def test_every_model_holding_client_data_is_exported_or_excluded_with_a_reason():
    assert uncovered_models(apps.get_models()) == []
    assert unknown_labels(apps.get_models()) == []
    assert all(reason.strip() for reason in EXCLUDED.values())


@isolate_apps("rights")
def test_the_completeness_check_fails_when_a_model_referencing_a_client_is_added_without_coverage():
    class ShipmentNote(models.Model):  # a throwaway model, never migrated
        client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
        text = models.TextField()

        class Meta:
            app_label = "rights"

    class CustomsCase(models.Model):  # a parent with the reference, and a child that inherits it
        subject = models.OneToOneField(Client, on_delete=models.CASCADE, related_name="+")

        class Meta:
            app_label = "rights"

    class CustomsAppeal(CustomsCase):
        class Meta:
            app_label = "rights"

    class RequestAttachment(models.Model):  # reaches the client through a request
        request = models.ForeignKey(DataSubjectRequest, on_delete=models.CASCADE, related_name="+")

        class Meta:
            app_label = "rights"

    added = [ShipmentNote, CustomsCase, CustomsAppeal, RequestAttachment]
    assert uncovered_models([*apps.get_models(), *added]) == [
        "rights.CustomsAppeal", "rights.CustomsCase", "rights.RequestAttachment", "rights.ShipmentNote"]
