"""consent 0013 turns the ledger's hashes into 32-byte `bytea` and drops indexes nothing uses (issue #20, goal 4): on
a populated ledger, back to the hex layout and forward again, every chain, receipt and log proof stays what it was."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from accounts.demo import synthetic_clients_create
from consent.bulk import consent_defaults_bulk_record
from consent.models import Channel, ConsentAction, ConsentChain, ConsentEvent, Purpose
from consent.receipts import consent_receipt
from consent.services import consent_record
from consent.verification import ledger_verify
from tests.conftest import make_client
from transparency_log.checkpoints import checkpoint_publish
from transparency_log.verification import log_verify

from ..consent_log.conftest import consent_changes

BEFORE = ("consent", "0012_do_not_sell_channel")
AFTER = ("consent", "0013_compact_ledger")
HASHES = ("personal_digest", "previous_hash", "entry_hash")

_SCHEMA_SQL = """
SELECT 'column ' || attrelid::regclass || '.' || attname || ' ' || format_type(atttypid, atttypmod) FROM pg_attribute
WHERE attrelid IN ('consent_consentevent'::regclass, 'consent_consentchain'::regclass) AND attnum > 0 AND NOT attisdropped
UNION ALL SELECT 'index ' || indexdef FROM pg_indexes WHERE tablename IN ('consent_consentevent', 'consent_consentchain')
UNION ALL SELECT 'constraint ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
WHERE conrelid IN ('consent_consentevent'::regclass, 'consent_consentchain'::regclass)
ORDER BY 1
"""


def migrate(target) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([target])
    connection.close()  # the prepared ledger statements were planned for the other column types


def schema() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(_SCHEMA_SQL)
        return [row[0] for row in cursor.fetchall()]


def stored_hashes() -> dict[int, tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, {', '.join(HASHES)} FROM consent_consentevent")  # nosec B608
        return {row[0]: row[1:] for row in cursor.fetchall()}


def receipts() -> dict[int, dict]:
    events = ConsentEvent.objects.select_related("client", "purpose", "policy_version").order_by("pk")
    return {event.pk: consent_receipt(event=event) for event in events}


@pytest.fixture
def schemas(transactional_db):
    """The schema of the two tables before consent 0013 and after it, the test database left migrated forward."""
    migrate(BEFORE)
    try:
        before = schema()
        migrate(AFTER)
        yield before, schema()
    finally:
        migrate(AFTER)


@pytest.fixture
def populated(schemas, privacy_officer):
    """Events of every writer: sign-up defaults one by one and in bulk (COPY), changes of mind from the portal with
    an IP address, a letter recorded by staff with an idempotency key; a checkpoint over all of them."""
    owner = make_client()
    consent_changes(owner, 3)
    synthetic_clients_create(count=20, seed=13, on_batch=lambda made: consent_defaults_bulk_record(clients=made))
    letter, _created = consent_record(client=owner, purpose=Purpose.objects.get(code="marketing-messages"),
                                      action=ConsentAction.WITHDRAW, channel=Channel.LETTER, recorded_by=privacy_officer,
                                      reason="letter received", idempotency_key="letter-1")
    checkpoint_publish()
    return owner, letter


@pytest.mark.django_db(transaction=True)
def test_the_hashes_take_32_bytes_and_the_unused_indexes_are_gone(schemas):
    before, after = schemas
    for column in ("consent_consentevent.personal_digest", "consent_consentevent.previous_hash",
                   "consent_consentevent.entry_hash", "consent_consentchain.head_hash"):
        assert f"column {column} character varying(64)" in before and f"column {column} bytea" in after
    indexes = [line for line in after if line.startswith("index ") and " ON public.consent_consentevent " in line]
    assert not [line for line in indexes if "varchar_pattern_ops" in line or "(entry_hash)" in line]
    assert not [line for line in indexes if line.endswith("(client_id)") or "(policy_version_id)" in line]
    assert [line for line in indexes if "(recorded_by_id) WHERE (recorded_by_id IS NOT NULL)" in line]
    assert [line for line in indexes if "UNIQUE" in line and "(idempotency_key) WHERE (idempotency_key IS NOT NULL)" in line]
    assert len([line for line in before if line.startswith("index ") and " ON public.consent_consentevent " in line]) == 11
    assert len(indexes) == 6  # the primary key, receipt id, chain position, purpose_id and the two partial ones


@pytest.mark.django_db(transaction=True)
def test_a_populated_ledger_migrates_back_and_forward_with_every_hash_receipt_and_proof_unchanged(schemas, populated):
    owner, letter = populated
    before_schema, after_schema = schemas
    hashes = {pk: tuple(getattr(e, f) for f in HASHES) for pk, e in ConsentEvent.objects.in_bulk().items()}
    heads = dict(ConsentChain.objects.values_list("client_id", "head_hash"))
    issued = receipts()
    assert len(issued) > 40 and ledger_verify().intact and log_verify().intact
    assert all(len(value) == 32 for row in stored_hashes().values() for value in row)  # bytes on disk

    migrate(BEFORE)
    assert schema() == before_schema
    assert stored_hashes() == hashes  # the hex text the ledger held before, exactly
    with connection.cursor() as cursor:
        cursor.execute("SELECT client_id, head_hash FROM consent_consentchain")
        assert dict(cursor.fetchall()) == heads

    migrate(AFTER)
    assert schema() == after_schema
    assert receipts() == issued
    assert ledger_verify().intact and log_verify().intact
    assert dict(ConsentChain.objects.values_list("client_id", "head_hash")) == heads
    # The chain goes on from the converted head, and the idempotency key still finds the first event.
    [latest] = consent_changes(owner, 1)
    assert latest.previous_hash == heads[owner.pk] and ConsentEvent.objects.get(pk=latest.pk).previous_hash == heads[owner.pk]
    again, created = consent_record(client=owner, purpose=letter.purpose, action=ConsentAction.GRANT, channel=Channel.LETTER,
                                    idempotency_key="letter-1")
    assert (again, created) == (letter, False)
    checkpoint_publish()
    assert ledger_verify().intact and log_verify().intact


@pytest.mark.django_db
def test_the_database_still_refuses_a_second_event_with_an_idempotency_key_already_used(owner):
    letter, _created = consent_record(client=owner, purpose=Purpose.objects.get(code="marketing-messages"),
                                      action=ConsentAction.WITHDRAW, channel=Channel.LETTER, idempotency_key="letter-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        ConsentEvent.objects.bulk_create([ConsentEvent(
            client=owner, sequence=999, purpose=letter.purpose, action=letter.action, channel=letter.channel,
            occurred_at=letter.occurred_at, recorded_at=letter.recorded_at, idempotency_key="letter-1",
            personal_digest=letter.personal_digest, previous_hash=letter.entry_hash, entry_hash="ab" * 32)])
    assert ConsentEvent.objects.filter(idempotency_key="letter-1").count() == 1



_COPY_OF_EVENT_SQL = """
INSERT INTO consent_consentevent (receipt_id, client_id, sequence, purpose_id, action, channel, occurred_at, recorded_at,
    personal_digest, previous_hash, entry_hash)
SELECT gen_random_uuid(), client_id, sequence + 1, purpose_id, action, channel, occurred_at, recorded_at,
    {personal_digest}, {previous_hash}, {entry_hash}
FROM consent_consentevent WHERE id = %s
"""


@pytest.mark.django_db
def test_a_writer_still_sending_the_hex_text_is_refused_rather_than_storing_64_bytes(owner):
    """A bytea column takes a text value's characters as bytes: 64 of them for a hex hash. The checks refuse it."""
    event = ConsentEvent.objects.filter(client=owner).order_by("-sequence").first()
    valid = {"personal_digest": "personal_digest", "previous_hash": "entry_hash",
             "entry_hash": "decode(md5('another') || md5('event'), 'hex')"}
    for column in HASHES:
        sql = _COPY_OF_EVENT_SQL.format(**{**valid, column: "convert_to(%s, 'UTF8')"})
        with pytest.raises(IntegrityError, match=f"consent_event_{column}_32_bytes"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(sql, [event.entry_hash, event.pk])
    with pytest.raises(IntegrityError, match="consent_chain_head_hash_32_bytes"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE consent_consentchain SET head_hash = convert_to(%s, 'UTF8') WHERE client_id = %s",
                           [event.entry_hash, owner.pk])
    with connection.cursor() as cursor:  # the same row with 32-byte hashes goes in: only the width was refused
        cursor.execute(_COPY_OF_EVENT_SQL.format(**valid), [event.pk])
    assert ConsentEvent.objects.filter(client=owner).count() == event.sequence + 1
