"""The processors' tallies (issue #20): "Who received your data" lists per processor and purpose what it processed,
how often and when last. The page reads running tallies written with the records, so they must always say exactly
what counting the client's processor records says — after every kind of message, batches, concurrent senders, and
when the migration fills them from records written before they existed."""

import importlib
import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Count, Max
from django.utils import timezone

from notify.hooks import SentMessage
from sharing.models import Affiliate, ProcessorTally, SharingRecord
from sharing.processors import messages_sent_record, processor_summary_of_client, processor_tallies_rebuild
from tests.conftest import make_client

EMAIL_PROCESSOR, SMS_PROCESSOR = "Fulfillmen e-mail delivery provider", "Fulfillmen SMS delivery provider"


def counted(client) -> list[dict]:
    """What the page showed before the tallies: every processor record of the client, grouped."""
    merged: dict[tuple, dict] = {}
    rows = (SharingRecord.objects.filter(client=client, affiliate__kind=Affiliate.Kind.PROCESSOR)
            .values("recipient_name", "recipient_country", "purpose_id", "fields")
            .annotate(times=Count("id"), last=Max("shared_at")))
    for row in rows:
        entry = merged.setdefault((row["recipient_name"], row["recipient_country"], row["purpose_id"]),
                                  {"fields": set(), "times": 0, "last": row["last"]})
        entry["fields"].update(row["fields"])
        entry["times"] += row["times"]
        entry["last"] = max(entry["last"], row["last"])
    return sorted((*key, tuple(sorted(v["fields"])), v["times"], v["last"]) for key, v in merged.items())


def shown(client) -> list[tuple]:
    return sorted((r["recipient_name"], r["recipient_country"], r["purpose_id"], tuple(sorted(r["fields"])), r["times"],
                   r["last"]) for r in processor_summary_of_client(client=client))


def message(client, *, channel="email", kind="dsr-reply", fields=("email",), minutes=0):
    return SentMessage(client_id=client.pk, channel=channel, kind=kind, fields=fields,
                       sent_at=timezone.now() - timedelta(minutes=minutes))


@pytest.mark.django_db
def test_the_page_shows_what_counting_every_processor_record_shows_after_mixed_batches():
    owner, other = make_client("owner@example.com"), make_client("other@example.com")
    with transaction.atomic():
        messages_sent_record([message(owner, minutes=30), message(owner, fields=("email", "name"), minutes=20),
                              message(owner, channel="sms", kind="policy-notice", fields=("phone",), minutes=10),
                              message(other, minutes=5)])
    with transaction.atomic():  # a later batch adds to the same rows, an earlier send does not move "last"
        messages_sent_record([message(owner, fields=("name", "email")), message(owner, minutes=600),
                              message(owner, channel="sms", kind="policy-notice", fields=("phone",), minutes=1)])
    assert shown(owner) == counted(owner)
    email_row = next(r for r in shown(owner) if r[0] == EMAIL_PROCESSOR)
    assert email_row[3] == ("email", "name") and email_row[4] == 4
    assert shown(other) == counted(other) and shown(other)[0][4] == 1
    assert ProcessorTally.objects.filter(client=owner).count() == 3  # {email}, {email, name}, {phone}: a row each


@pytest.mark.django_db
def test_a_processor_missing_from_the_catalogue_is_recorded_but_not_tallied_as_before(settings):
    owner = make_client()
    settings.EMAIL_PROCESSOR = "A provider nobody added"
    with transaction.atomic():
        messages_sent_record([message(owner)])
    assert SharingRecord.objects.filter(client=owner, recipient_name="A provider nobody added").count() == 1
    assert shown(owner) == counted(owner) == []


@pytest.mark.django_db
def test_a_failed_send_transaction_leaves_neither_record_nor_tally():
    owner = make_client()
    with pytest.raises(RuntimeError), transaction.atomic():
        messages_sent_record([message(owner)])
        raise RuntimeError("the provider call failed after the records were written")
    assert not SharingRecord.objects.filter(client=owner).exists() and shown(owner) == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_senders_to_the_same_clients_lose_no_count_and_never_deadlock():
    owners = [make_client(f"c{n}@example.com") for n in range(6)]
    errors, start = [], threading.Barrier(4)

    def sender(reverse_order: bool):
        try:
            start.wait(timeout=10)
            for _ in range(5):
                batch = [message(o, fields=("email", "name")) for o in owners]
                with transaction.atomic():
                    messages_sent_record(batch[::-1] if reverse_order else batch)
        except Exception as error:  # noqa: BLE001 — reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sender, args=(n % 2 == 1,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    for owner in owners:
        assert shown(owner) == counted(owner) and shown(owner)[0][4] == 20


@pytest.mark.django_db
def test_the_migration_fills_the_tallies_from_records_written_before_them():
    owners = [make_client(f"m{n}@example.com") for n in range(3)]
    with transaction.atomic():
        messages_sent_record([message(o, fields=f, minutes=m) for o in owners
                              for m, f in ((3, ("email",)), (2, ("name", "email")), (1, ("email",)))])
        messages_sent_record([message(owners[0], channel="sms", kind="policy-notice", fields=("phone",))])
    kept = {o.pk: shown(o) for o in owners}
    # The records' table as migration 0011 read it (0012 partitions it and makes `fields` a bit set), then back.
    tallies_state = ("sharing", "0011_processor_tallies")
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's pending checks, before the table changes
    executor = MigrationExecutor(connection)
    executor.migrate([tallies_state])
    ProcessorTally.objects.all().delete()  # as if the records had been written before the tallies existed
    migration = importlib.import_module("sharing.migrations.0011_processor_tallies")
    with connection.schema_editor(atomic=True) as editor:
        migration.tallies_from_records(executor.loader.project_state(tallies_state).apps, editor)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes("sharing"))
    assert {o.pk: shown(o) for o in owners} == kept
    assert all(shown(o) == counted(o) for o in owners)


@pytest.mark.django_db
def test_a_bulk_load_rebuilds_the_tallies_from_the_bit_set_of_fields_as_the_writes_kept_them():
    owners = [make_client(f"r{n}@example.com") for n in range(3)]
    with transaction.atomic():
        messages_sent_record([message(o, fields=f, minutes=m) for o in owners
                              for m, f in ((3, ("email",)), (2, ("name", "email")), (1, ("email",)))])
        messages_sent_record([message(owners[1], channel="sms", kind="policy-notice", fields=("phone",))])
    kept = sorted(ProcessorTally.objects.values_list("client_id", "recipient_name", "purpose_id", "fields", "times", "last_at"))
    ProcessorTally.objects.all().delete()
    processor_tallies_rebuild()
    assert sorted(ProcessorTally.objects.values_list("client_id", "recipient_name", "purpose_id", "fields", "times",
                                                     "last_at")) == kept
