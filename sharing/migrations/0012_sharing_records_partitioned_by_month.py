"""Sharing records partitioned by month on `shared_at`, with narrower types (issue #20, docs/performance.md).

PostgreSQL: `sharing_sharingrecord` is rebuilt as `PARTITION BY RANGE (shared_at)` -- a partition per month from the
oldest record's month (or this one) to SHARING_PARTITIONS_AHEAD months ahead, `sharing_sharingrecord_kept` below
them (rows a dropped month must keep) and a DEFAULT partition (sharing/partitions.py) -- and every row is copied
into it, in id order, under an exclusive lock; the id sequence goes on where it was.

- The database's key is (client_id, shared_at, id): a partitioned table's unique keys must contain `shared_at`, and
  read backwards it is the portal's "newest first for a client" index, so `sharing_record_client_idx` and the `id`
  key go. `id` stays the primary key Django knows (assigned only by the sequence); a BRIN index finds a record by id
  (the admin) without a b-tree entry per row. The single-column purpose and key indexes go: they only served the
  check when a purpose or key is deleted, refused anyway once a record names it.
- `fields`: jsonb → smallint, a bit per data category (`sharing.models.DataCategorySetField`).
- The statement-level reference triggers of migration 0010 are made again on the partitioned parent (PostgreSQL
  allows transition tables there, and they see the rows of every partition a statement writes to).

Other databases (the SQLite quick start) get the same model: the field and indexes altered in place.
"""

import json
from datetime import UTC, datetime

from django.conf import settings
from django.db import migrations, models
from django.db.migrations.operations.base import Operation

import sharing.models

BITS = {"name": 0, "email": 1, "phone": 2, "ip_address": 3, "shipping_address": 4}  # as sharing.models has them
COLUMNS = ("id, client_id, shared_at, affiliate_id, purpose_id, api_key_id, request_id, withheld_until, fields, "
           "recipient_country, transfer_mechanism, recipient_name")
CATEGORY_MAP = "(VALUES " + ", ".join(f"('{code}', {bit})" for code, bit in BITS.items()) + ") AS m(code, bit)"

TRIGGERS = """
CREATE TRIGGER sharing_record_inserted_references
    AFTER INSERT ON sharing_sharingrecord REFERENCING NEW TABLE AS new_records
    FOR EACH STATEMENT EXECUTE FUNCTION sharing_record_references_check();
CREATE TRIGGER sharing_record_updated_references
    AFTER UPDATE ON sharing_sharingrecord REFERENCING NEW TABLE AS new_records
    FOR EACH STATEMENT EXECUTE FUNCTION sharing_record_references_check();
"""

PARTITIONED = f"""
LOCK TABLE sharing_sharingrecord IN ACCESS EXCLUSIVE MODE;
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM sharing_sharingrecord r, jsonb_array_elements_text(r.fields) code
               WHERE code NOT IN (SELECT m.code FROM {CATEGORY_MAP})) THEN
        RAISE EXCEPTION 'a sharing record names a data category without a bit in sharing.models.DATA_CATEGORY_BITS';
    END IF;
END $$;
ALTER TABLE sharing_sharingrecord RENAME TO sharing_sharingrecord_old;
DO $$ BEGIN  -- the old key's sequence, out of the new one's name
    EXECUTE format('ALTER SEQUENCE %s RENAME TO sharing_sharingrecord_old_id_seq',
                   pg_get_serial_sequence('sharing_sharingrecord_old', 'id'));
END $$;
CREATE SEQUENCE sharing_sharingrecord_id_seq;
CREATE TABLE sharing_sharingrecord (
    id bigint NOT NULL DEFAULT nextval('sharing_sharingrecord_id_seq'),
    client_id bigint NOT NULL,
    shared_at timestamp with time zone NOT NULL,
    affiliate_id bigint NULL,
    purpose_id bigint NOT NULL,
    api_key_id bigint NULL,
    request_id uuid NULL,
    withheld_until date NULL,
    fields smallint NOT NULL,
    recipient_country varchar(2) NOT NULL,
    transfer_mechanism varchar(24) NOT NULL DEFAULT '',
    recipient_name varchar(200) NOT NULL
) PARTITION BY RANGE (shared_at);
ALTER SEQUENCE sharing_sharingrecord_id_seq OWNED BY sharing_sharingrecord.id;
"""

FILLED = f"""
INSERT INTO sharing_sharingrecord ({COLUMNS})
SELECT id, client_id, shared_at, affiliate_id, purpose_id, api_key_id, request_id, withheld_until,
       (SELECT coalesce(sum(1 << m.bit), 0)::smallint FROM {CATEGORY_MAP}
        WHERE m.code IN (SELECT jsonb_array_elements_text(o.fields))),
       recipient_country, transfer_mechanism, recipient_name
FROM sharing_sharingrecord_old o ORDER BY id;
SELECT setval('sharing_sharingrecord_id_seq', greatest(nextval(pg_get_serial_sequence('sharing_sharingrecord_old', 'id')),
              (SELECT coalesce(max(id), 0) + 1 FROM sharing_sharingrecord)), false);
DROP TABLE sharing_sharingrecord_old;
ALTER TABLE sharing_sharingrecord ADD CONSTRAINT sharing_sharingrecord_pkey PRIMARY KEY (client_id, shared_at, id);
CREATE INDEX sharing_record_holder_idx ON sharing_sharingrecord (affiliate_id, purpose_id, client_id);
CREATE INDEX sharing_record_id_brin ON sharing_sharingrecord USING brin (id);
""" + TRIGGERS


def _months(schema_editor):
    from sharing.partitions import month_add, month_first

    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT min(shared_at) FROM sharing_sharingrecord_old")
        oldest = cursor.fetchone()[0]
    this_month = month_first(datetime.now(UTC).date())
    first = month_first(oldest.astimezone(UTC).date()) if oldest else this_month
    return min(first, this_month), month_add(this_month, settings.SHARING_PARTITIONS_AHEAD)


def forward(apps, schema_editor):
    from sharing.partitions import (DEFAULT, KEPT, month_add, month_first, month_mark_compacted, months_ensure,
                                    months_partitioned)

    schema_editor.execute(PARTITIONED, params=None)
    first, last = _months(schema_editor)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {DEFAULT} PARTITION OF sharing_sharingrecord DEFAULT")
        cursor.execute(f"CREATE TABLE {KEPT} PARTITION OF sharing_sharingrecord FOR VALUES FROM (MINVALUE) TO (%s)",
                       [datetime(first.year, first.month, 1, tzinfo=UTC)])
        months_ensure(cursor, first=first, last=last)
    schema_editor.execute(FILLED, params=None)
    with schema_editor.connection.cursor() as cursor:  # their indexes were just built from sorted input
        this_month = month_first(datetime.now(UTC).date())
        for month in months_partitioned(cursor):
            if month_add(month, 2) <= this_month:
                month_mark_compacted(cursor, month)


def backward(apps, schema_editor):
    """The plain table of migration 0010 again, made by Django from that state, every row copied back."""
    labels = "(VALUES " + ", ".join(f"({bit}, '{code}')" for code, bit in BITS.items()) + ") AS m(bit, code)"
    schema_editor.execute(f"""
        LOCK TABLE sharing_sharingrecord IN ACCESS EXCLUSIVE MODE;
        CREATE TEMP TABLE sharing_records_back AS
        SELECT id, client_id, shared_at, affiliate_id, purpose_id, api_key_id, request_id, withheld_until,
               (SELECT coalesce(jsonb_agg(m.code ORDER BY m.code), '[]'::jsonb) FROM {labels}
                WHERE p.fields & (1 << m.bit) <> 0) AS fields,
               recipient_country, transfer_mechanism, recipient_name
        FROM sharing_sharingrecord p;
        CREATE TEMP TABLE sharing_records_next AS SELECT nextval('sharing_sharingrecord_id_seq') AS next;
        DROP TABLE sharing_sharingrecord;
    """, params=None)
    schema_editor.create_model(apps.get_model("sharing", "SharingRecord"))
    schema_editor.execute(f"""
        INSERT INTO sharing_sharingrecord ({COLUMNS}) SELECT {COLUMNS} FROM sharing_records_back ORDER BY id;
        SELECT setval(pg_get_serial_sequence('sharing_sharingrecord', 'id'), (SELECT next FROM sharing_records_next), false);
        DROP TABLE sharing_records_back, sharing_records_next;
    """ + TRIGGERS, params=None)


def fields_to_bits(apps, schema_editor):
    """Other databases: the JSON lists the column kept through the type change, made bit sets."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id, fields FROM sharing_sharingrecord")
        for record_id, value in cursor.fetchall():
            codes = json.loads(value) if isinstance(value, str) else value
            if isinstance(codes, list):
                cursor.execute("UPDATE sharing_sharingrecord SET fields = %s WHERE id = %s",
                               [sum(1 << BITS[code] for code in set(codes)), record_id])


def bits_to_fields(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT id, fields FROM sharing_sharingrecord")
        for record_id, value in cursor.fetchall():
            codes = sorted(code for code, bit in BITS.items() if int(value) & (1 << bit))
            cursor.execute("UPDATE sharing_sharingrecord SET fields = %s WHERE id = %s", [json.dumps(codes), record_id])


class OnPostgresql(Operation):
    """`postgresql` on PostgreSQL, the `other` operations elsewhere; the state is the caller's (SeparateDatabaseAndState)."""

    reversible = True

    def __init__(self, postgresql, other):
        self.postgresql, self.other = postgresql, other

    def deconstruct(self):
        return self.__class__.__qualname__, [], {"postgresql": self.postgresql, "other": self.other}

    def state_forwards(self, app_label, state):
        pass

    def _chosen(self, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            return migrations.SeparateDatabaseAndState(database_operations=[self.postgresql])
        return migrations.SeparateDatabaseAndState(database_operations=self.other)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._chosen(schema_editor).database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._chosen(schema_editor).database_backwards(app_label, schema_editor, from_state, to_state)

    def describe(self):
        return "Sharing records partitioned by month on PostgreSQL; the same model altered elsewhere"


STATE = [
    migrations.RemoveIndex(model_name="sharingrecord", name="sharing_record_client_idx"),
    migrations.AlterField(
        model_name="sharingrecord", name="api_key",
        field=models.ForeignKey(blank=True, db_constraint=False, db_index=False, null=True,
                                on_delete=models.deletion.PROTECT, related_name="+", to="sharing.apikey")),
    migrations.AlterField(
        model_name="sharingrecord", name="purpose",
        field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=models.deletion.PROTECT,
                                related_name="+", to="consent.purpose")),
    migrations.AlterField(model_name="sharingrecord", name="fields", field=sharing.models.DataCategorySetField()),
]


class Migration(migrations.Migration):

    dependencies = [
        ("sharing", "0011_processor_tallies"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=STATE, database_operations=[OnPostgresql(
            postgresql=migrations.RunPython(forward, backward),
            other=[migrations.RunPython(migrations.RunPython.noop, bits_to_fields), *STATE,
                   migrations.RunPython(fields_to_bits, migrations.RunPython.noop)],
        )]),
    ]
