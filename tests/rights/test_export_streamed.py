"""The export ZIP is streamed (issue #20): its members are byte for byte the document built in memory, serialised at
once, in both languages and for an empty history; what a non-disclosure order withholds stays out of it; and a long
history costs no more memory than a short one."""

import csv
import io
import json
import uuid
import zipfile
from datetime import timedelta

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone, translation

from accounts.bulk import ids_reserve, rows_insert
from consent.models import Purpose
from rights.export import _csv_text, _readme, export_archive, export_document
from sharing.models import SharingRecord
from sharing.services import SHARING_RECORD_FIELDS
from tests.memory import peak_bytes

from .test_your_data import affiliate, disclose, give_history

pytestmark = pytest.mark.django_db


def in_memory(client, generated_at) -> dict[str, bytes]:
    """The members as the export built them before it streamed: the whole document, then each file at once."""
    document = export_document(client=client, generated_at=generated_at)
    members = {"data.json": json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2).encode()}
    for category in document["categories"].values():
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(category["columns"].values())
        for row in category["rows"]:
            writer.writerow([_csv_text(row.get(key)) for key in category["columns"]])
        members[category["csv"]] = out.getvalue().encode("utf-8-sig")
    members["README.txt"] = _readme(document).encode()
    return members


def streamed(client, generated_at) -> zipfile.ZipFile:
    return zipfile.ZipFile(export_archive(client=client, generated_at=generated_at))


def assert_same(client, language="en"):
    generated_at = timezone.now()
    with translation.override(language):
        archive, expected = streamed(client, generated_at), in_memory(client, generated_at)
    assert archive.namelist() == list(expected)  # the same members, in the same order
    for info in archive.infolist():
        assert archive.read(info) == expected[info.filename], info.filename
        assert info.compress_type == zipfile.ZIP_DEFLATED and info.external_attr == 0o600 << 16, info.filename
        assert info.date_time[0] >= 2020, info.filename  # dated now, as writestr dates a member, not 1980
    return archive


def test_the_streamed_zip_holds_exactly_what_the_document_in_memory_says_for_a_client_with_history(owner, outsider):
    give_history(owner, times=2)
    give_history(outsider, disclosures=False)
    archive = assert_same(owner)
    data = json.loads(archive.read("data.json"))
    assert all(category["count"] == len(category["rows"]) for category in data["categories"].values())
    assert data["categories"]["sharing_records"]["count"] >= 2 and "Outside Person" not in archive.read("data.json").decode()


def test_the_streamed_zip_is_the_same_in_chinese_and_for_a_client_with_nothing_yet(owner, outsider):
    give_history(owner)
    owner.preferred_language = "zh-hans"
    owner.save(update_fields=["preferred_language"])
    archive = assert_same(owner, "zh-hans")
    assert json.loads(archive.read("data.json"))["language"] == "zh-hans" and not archive.read("README.txt").decode().isascii()
    empty = assert_same(outsider)
    data = json.loads(empty.read("data.json"))
    assert data["categories"]["sharing_records"]["rows"] == [] and b'"rows": []' in empty.read("data.json")


def test_a_disclosure_under_a_non_disclosure_order_is_in_no_member_until_its_date(owner):
    give_history(owner, disclosures=False)
    disclose(owner, authority="Gagged Bureau", withhold_until=timezone.localdate() + timedelta(days=90))
    disclose(owner, authority="Open Bureau")
    assert SharingRecord.objects.filter(client=owner, recipient_name="Gagged Bureau").exists()  # held, but withheld
    archive = assert_same(owner)
    for name in archive.namelist():
        assert "Gagged Bureau" not in archive.read(name).decode("utf-8-sig"), name
    data = json.loads(archive.read("data.json"))
    assert "Open Bureau" in {r["authority"] for r in data["categories"]["disclosures"]["rows"]}
    assert "Open Bureau" in {r["recipient"] for r in data["categories"]["sharing_records"]["rows"]}
    visible = SharingRecord.objects.filter(client=owner).exclude(recipient_name="Gagged Bureau").count()
    assert data["categories"]["sharing_records"]["count"] == visible
    rows = list(csv.reader(io.StringIO(archive.read("sharing_records.csv").decode("utf-8-sig"))))
    assert len(rows) == visible + 1


def records_add(client, count: int) -> None:
    ads, promo = affiliate(), Purpose.objects.get(code="promotional-sharing")
    now, request = timezone.now(), uuid.uuid4()
    rows_insert(SharingRecord, [*SHARING_RECORD_FIELDS, "withheld_until"], [
        (record_id, client.pk, ads.pk, ads.name, "HK", promo.pk, ["email", "ip_address"], now - timedelta(minutes=n), None,
         request, "", None) for n, record_id in enumerate(ids_reserve(SharingRecord, count))])


def test_a_history_three_times_as_long_costs_the_streamed_export_no_more_memory_and_stays_identical(owner):
    at = timezone.now()
    records_add(owner, 4_000)  # two full chunks of the queryset iterator (2,000 rows each): as many as it ever holds
    short = peak_bytes(lambda: export_archive(client=owner, generated_at=at).close())
    whole_short = peak_bytes(lambda: export_document(client=owner, generated_at=at))  # every row in memory, as before
    records_add(owner, 8_000)  # 12,000: six chunks
    long = peak_bytes(lambda: export_archive(client=owner, generated_at=at).close())
    whole_long = peak_bytes(lambda: export_document(client=owner, generated_at=at))
    assert whole_long - whole_short > 3_000_000, (whole_short, whole_long)  # holding every row: ~1 kB more a row
    assert long - short < 512 * 1024, (short, long)  # streamed: the same whatever the history's length
    archive = assert_same(owner)
    assert json.loads(archive.read("data.json"))["categories"]["sharing_records"]["count"] == 12_000
