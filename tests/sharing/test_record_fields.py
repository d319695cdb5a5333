"""A sharing record's `fields` is a bit set of data categories in the database (2 bytes) and the list of codes in
Python, whoever reads it (issue #20)."""

import uuid

import pytest
from django.core import serializers
from django.db import connection
from django.utils import timezone

from consent.models import DataCategory, Purpose
from sharing.models import DATA_CATEGORY_BITS, SharingRecord, bits_of, codes_of
from sharing.services import sharing_records_write
from tests.conftest import make_client

from .conftest import make_affiliate


def test_every_data_category_has_its_own_bit():
    assert set(DATA_CATEGORY_BITS) == set(DataCategory.values)
    assert len(set(DATA_CATEGORY_BITS.values())) == len(DATA_CATEGORY_BITS) and max(DATA_CATEGORY_BITS.values()) < 15


def test_codes_and_bits_round_trip_sorted():
    assert codes_of(bits_of(["phone", "email", "email"])) == ["email", "phone"]
    with pytest.raises(ValueError, match="full_name"):
        bits_of(["email", "full_name"])


def test_a_record_stores_a_smallint_and_reads_its_codes(db):
    owner, ads = make_client(), make_affiliate("Ads Network")
    sharing_records_write(affiliate=ads, purpose=Purpose.objects.get(code="promotional-sharing"),
                          fields=["ip_address", "email"], client_ids=[owner.pk], api_key=None, request_id=uuid.uuid4(),
                          at=timezone.now())
    with connection.cursor() as cursor:
        cursor.execute("SELECT fields, pg_typeof(fields)::text FROM sharing_sharingrecord")
        assert cursor.fetchone() == (bits_of(["email", "ip_address"]), "smallint")
    record = SharingRecord.objects.get()
    assert record.fields == ["email", "ip_address"]
    assert list(SharingRecord.objects.values_list("fields", flat=True)) == [["email", "ip_address"]]
    dumped = serializers.serialize("json", [record])
    assert '"fields": ["email", "ip_address"]' in dumped
    assert next(serializers.deserialize("json", dumped)).object.fields == ["email", "ip_address"]
