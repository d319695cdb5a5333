"""A sharing record always names a client, affiliate, purpose and key that exist: the database checks it once per
statement (sharing migration 0010), as strictly as the foreign keys it replaced, whoever writes."""

import threading
import time
import uuid

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from consent.models import Purpose
from sharing.models import Affiliate, ApiKey, SharingRecord
from sharing.services import affiliate_key_create, sharing_records_write
from tests.conftest import make_client
from tests.threads import run_in_parallel

from .conftest import make_affiliate

MISSING = 2_000_000_000

INSERT = """INSERT INTO sharing_sharingrecord (client_id, affiliate_id, recipient_name, recipient_country, purpose_id, fields,
                                           shared_at, api_key_id, request_id, transfer_mechanism)
            VALUES (%s, %s, 'Ads Network', 'HK', %s, 2, now(), %s, %s, '')"""


@pytest.fixture
def named(db):
    """A client, an affiliate with a key, and the purpose: everything a record names."""
    ads = make_affiliate("Ads Network")
    key, _ = affiliate_key_create(affiliate=ads)
    return {"client_id": make_client("held@example.com").pk, "affiliate_id": ads.pk,
            "purpose_id": Purpose.objects.get(code="promotional-sharing").pk, "api_key_id": key.pk}


def raw_insert(rows):
    with connection.cursor() as cursor:
        cursor.executemany(INSERT, [(r["client_id"], r["affiliate_id"], r["purpose_id"], r["api_key_id"], uuid.uuid4())
                                    for r in rows])


def write(named):
    ads = Affiliate.objects.get(pk=named["affiliate_id"])
    sharing_records_write(affiliate=ads, purpose=Purpose.objects.get(pk=named["purpose_id"]), fields=["email"],
                          client_ids=[named["client_id"]], api_key=ApiKey.objects.get(pk=named["api_key_id"]),
                          request_id=uuid.uuid4(), at=timezone.now())


@pytest.mark.parametrize("column", ["client_id", "affiliate_id", "purpose_id", "api_key_id"])
def test_a_record_naming_a_row_that_does_not_exist_is_refused_and_nothing_is_written(named, column):
    with pytest.raises(IntegrityError, match="does not exist"), transaction.atomic():
        raw_insert([{**named, column: MISSING}])
    assert not SharingRecord.objects.exists()


def test_one_bad_row_refuses_the_whole_statement(named):
    good = [named] * 3
    with pytest.raises(IntegrityError, match="accounts_client"), transaction.atomic():
        raw_insert(good + [{**named, "client_id": MISSING}])  # executemany: one statement per row, all in one atomic
    with pytest.raises(IntegrityError, match="accounts_client"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO sharing_sharingrecord (client_id, affiliate_id, recipient_name, recipient_country, "
                       "purpose_id, fields, shared_at) SELECT c, %s, 'Ads Network', 'HK', %s, 0, now() "
                       "FROM unnest(%s::bigint[]) c", [named["affiliate_id"], named["purpose_id"],
                                                       [named["client_id"], MISSING]])
    assert not SharingRecord.objects.exists()


def test_a_record_without_affiliate_or_key_is_accepted(named):
    """A disclosure to an authority names neither an affiliate nor a key."""
    raw_insert([{**named, "affiliate_id": None, "api_key_id": None}])
    assert SharingRecord.objects.get().affiliate_id is None


def test_changing_a_record_to_name_a_missing_row_is_refused(named):
    write(named)
    with pytest.raises(IntegrityError, match="consent_purpose"), transaction.atomic():
        SharingRecord.objects.update(purpose_id=MISSING)
    assert SharingRecord.objects.get().purpose_id == named["purpose_id"]


@pytest.mark.parametrize("table, column", [("accounts_client", "client_id"), ("sharing_affiliate", "affiliate_id"),
                                           ("consent_purpose", "purpose_id"), ("sharing_apikey", "api_key_id")])
def test_deleting_or_renumbering_a_row_a_record_names_is_refused_by_the_database(named, table, column):
    write(named)
    for statement in (f"DELETE FROM {table} WHERE id = %s", f"UPDATE {table} SET id = id + 1000000 WHERE id = %s"):
        with pytest.raises(IntegrityError, match="named by sharing records"), transaction.atomic(), \
                connection.cursor() as cursor:
            cursor.execute(statement, [named[column]])
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE refuses to run beside the test's pending FK checks
    with pytest.raises(IntegrityError, match="cannot be emptied"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table} CASCADE")
    assert SharingRecord.objects.filter(**{column: named[column]}).exists()


def test_a_key_no_record_names_can_still_be_deleted(named):
    write(named)
    spare, _ = affiliate_key_create(affiliate=Affiliate.objects.get(pk=named["affiliate_id"]))
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM sharing_apikey WHERE id = %s", [spare.pk])
    assert not ApiKey.objects.filter(pk=spare.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_a_delete_racing_a_page_of_records_waits_for_it_and_is_then_refused(named):
    """The delete comes while the records are written but not committed: like a foreign key, it waits, then fails."""
    written, outcome = threading.Event(), {}

    def page():
        with transaction.atomic():
            write(named)
            written.set()
            time.sleep(0.5)  # the delete is now waiting on our lock
            outcome["page_committed"] = time.monotonic()

    def delete():
        written.wait(10)
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("DELETE FROM sharing_apikey WHERE id = %s", [named["api_key_id"]])
        except IntegrityError as exc:
            outcome["refused"] = (time.monotonic(), str(exc))

    run_in_parallel([page, delete], together=False)
    assert "named by sharing records" in outcome["refused"][1]
    assert outcome["refused"][0] >= outcome["page_committed"]
    assert ApiKey.objects.filter(pk=named["api_key_id"]).exists()


@pytest.mark.django_db(transaction=True)
def test_records_racing_the_delete_of_what_they_name_wait_for_it_and_are_then_refused(named):
    """The other order: the key is deleted first (not yet committed); records naming it wait, and fail once it is gone."""
    deleted, outcome = threading.Event(), {}

    def delete():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM sharing_apikey WHERE id = %s", [named["api_key_id"]])
            deleted.set()
            time.sleep(0.5)
            outcome["delete_committed"] = time.monotonic()

    def page():
        deleted.wait(10)
        try:
            with transaction.atomic():
                raw_insert([named])
        except IntegrityError as exc:
            outcome["refused"] = (time.monotonic(), str(exc))

    run_in_parallel([delete, page], together=False)
    assert "sharing_apikey" in outcome["refused"][1]
    assert outcome["refused"][0] >= outcome["delete_committed"]
    assert not SharingRecord.objects.exists()
