"""The ledger compact on disk (issue #20, goal 4; docs/performance.md, "Ledger events: done").

- entry_hash, previous_hash, personal_digest and the chain head as `bytea` (32 bytes) instead of 64 hex characters,
  converted in place by one ALTER TABLE per table (`decode(column, 'hex')`). Python still sees the hex strings
  (consent/fields.py), so every hash, receipt and proof stays byte for byte what it was.
- A CHECK on each that it is 32 bytes (the head: 0 or 32), checked during the rewrite: a writer still sending the hex
  text (which bytea would take as 64 bytes of ASCII) is refused.
- Indexes nothing uses dropped: entry_hash's unique key (a second event with its hash would need the same chain
  position, which consent_event_chain_position refuses) and the varchar_pattern_ops copies Django made for LIKE on
  entry_hash and idempotency_key; client_id's own (the chain position starts with it), policy_version_id's.
  idempotency_key stays unique and recorded_by_id indexed, both only where the value is set (most events have none).

The ALTER rewrites the table and rebuilds its remaining indexes under an ACCESS EXCLUSIVE lock: writes and reads of
the ledger wait for it (docs/performance.md gives the time per million events). No UPDATE is issued, so the
append-only trigger has nothing to refuse. On SQLite (quick start) the values are converted where they are and the
columns keep their declarations: SQLite stores the bytes in them as they are, and a rebuilt table would lose the
public log's trigger.
"""

from django.conf import settings
from django.db import migrations, models
from django.db.migrations.operations.base import Operation

import consent.fields

EVENT_HASHES = ("personal_digest", "previous_hash", "entry_hash")
DROPPED_UNIQUE = ("entry_hash", "idempotency_key")  # their unique keys (the idempotency key's comes back partial)
DROPPED_INDEXED = ("entry_hash", "idempotency_key", "client_id", "policy_version_id", "recorded_by_id")

STATE_OPERATIONS = [
    migrations.AlterField(model_name="consentchain", name="head_hash", field=consent.fields.Sha256Field(default="")),
    migrations.AlterField(
        model_name="consentevent", name="client",
        field=models.ForeignKey(db_index=False, on_delete=models.deletion.PROTECT, related_name="consent_events",
                                to="accounts.client")),
    migrations.AlterField(model_name="consentevent", name="entry_hash", field=consent.fields.Sha256Field()),
    migrations.AlterField(model_name="consentevent", name="idempotency_key",
                          field=models.CharField(blank=True, max_length=64, null=True)),
    migrations.AlterField(model_name="consentevent", name="personal_digest", field=consent.fields.Sha256Field()),
    migrations.AlterField(
        model_name="consentevent", name="policy_version",
        field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=models.deletion.PROTECT,
                                to="amendments.policyversion")),
    migrations.AlterField(model_name="consentevent", name="previous_hash", field=consent.fields.Sha256Field()),
    migrations.AlterField(
        model_name="consentevent", name="recorded_by",
        field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=models.deletion.PROTECT, related_name="+",
                                to=settings.AUTH_USER_MODEL)),
]
RECORDED_BY_INDEX = models.Index(condition=models.Q(recorded_by__isnull=False), fields=["recorded_by"],
                                 name="consent_event_recorded_by")
CHECKS = {  # model: its hashes are 32 bytes (the chain head 0 before the first event)
    "consentevent": [models.CheckConstraint(condition=models.Q(**{f"{name}__length": 32}),
                                            name=f"consent_event_{name}_32_bytes") for name in EVENT_HASHES],
    "consentchain": [models.CheckConstraint(condition=models.Q(head_hash__length__in=[0, 32]),
                                            name="consent_chain_head_hash_32_bytes")],
}
IDEMPOTENCY_KEY = models.UniqueConstraint(condition=models.Q(idempotency_key__isnull=False), fields=["idempotency_key"],
                                          name="consent_event_idempotency_key")


def _types_sql(table: str, columns, *, to_bytes: bool, checks=()) -> str:
    """One ALTER TABLE: the columns' new type and the `checks` (SQL), checked while the table is rewritten."""
    change = ("ALTER COLUMN {c} TYPE bytea USING decode({c}, 'hex')" if to_bytes
              else "ALTER COLUMN {c} TYPE varchar(64) USING encode({c}, 'hex')")
    return f"ALTER TABLE {table} " + ", ".join([change.format(c=column) for column in columns]
                                               + [f"ADD {check}" for check in checks])


def _sqlite_convert(schema_editor, *, to_bytes: bool) -> None:
    """Each hash rewritten where it is (SQLite has no trigger refusing it): bytes from hex, or hex from bytes."""
    def convert(value):
        if to_bytes:
            return bytes.fromhex(value) if isinstance(value, str) else value
        return bytes(value).hex() if isinstance(value, bytes | memoryview) else value

    with schema_editor.connection.cursor() as cursor:
        for table, key, columns in (("consent_consentevent", "id", EVENT_HASHES), ("consent_consentchain", "client_id",
                                                                                   ("head_hash",))):
            cursor.execute(f"SELECT {key}, {', '.join(columns)} FROM {table}")  # nosec B608  # constant names
            rows = [[convert(value) for value in row[1:]] + [row[0]] for row in cursor.fetchall()]
            assignments = ", ".join(f"{column} = %s" for column in columns)
            cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {key} = %s", rows)  # nosec B608


class CompactLedger(Operation):
    """STATE_OPERATIONS for the model state; in the database, the SQL above (PostgreSQL) or the values converted."""

    reversible = True

    def state_forwards(self, app_label, state):
        for operation in STATE_OPERATIONS:
            operation.state_forwards(app_label, state)
        state.add_index(app_label, "consentevent", RECORDED_BY_INDEX)
        state.add_constraint(app_label, "consentevent", IDEMPOTENCY_KEY)
        for model_name, checks in CHECKS.items():
            for check in checks:
                state.add_constraint(app_label, model_name, check)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        old = from_state.apps.get_model(app_label, "consentevent")
        new = to_state.apps.get_model(app_label, "consentevent")
        chain = to_state.apps.get_model(app_label, "consentchain")
        if schema_editor.connection.vendor != "postgresql":
            _sqlite_convert(schema_editor, to_bytes=True)  # no CHECK: SQLite would rebuild the table for one
        else:
            table = old._meta.db_table
            for column in DROPPED_UNIQUE:
                for name in schema_editor._constraint_names(old, [column], unique=True, primary_key=False):
                    schema_editor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {schema_editor.quote_name(name)}")
            for column in DROPPED_INDEXED:
                for name in schema_editor._constraint_names(old, [column], index=True, unique=False):
                    schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(name)}")
            schema_editor.execute(_types_sql(table, EVENT_HASHES, to_bytes=True, checks=[
                check.constraint_sql(new, schema_editor) for check in CHECKS["consentevent"]]))
            schema_editor.execute(_types_sql(chain._meta.db_table, ["head_hash"], to_bytes=True, checks=[
                check.constraint_sql(chain, schema_editor) for check in CHECKS["consentchain"]]))
        schema_editor.add_index(new, RECORDED_BY_INDEX)
        schema_editor.add_constraint(new, IDEMPOTENCY_KEY)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        compact = from_state.apps.get_model(app_label, "consentevent")
        wide = to_state.apps.get_model(app_label, "consentevent")
        schema_editor.remove_constraint(compact, IDEMPOTENCY_KEY)
        schema_editor.remove_index(compact, RECORDED_BY_INDEX)
        if schema_editor.connection.vendor != "postgresql":
            _sqlite_convert(schema_editor, to_bytes=False)
            return
        for model_name, checks in CHECKS.items():
            for check in checks:
                schema_editor.remove_constraint(from_state.apps.get_model(app_label, model_name), check)
        table = wide._meta.db_table
        schema_editor.execute(_types_sql(table, EVENT_HASHES, to_bytes=False))
        schema_editor.execute(_types_sql("consent_consentchain", ["head_hash"], to_bytes=False))
        for column in DROPPED_UNIQUE:  # the names PostgreSQL gave the keys of CREATE TABLE (consent 0001)
            schema_editor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_{column}_key UNIQUE ({column})")
        for field in (wide._meta.get_field(name) for name in ("entry_hash", "idempotency_key")):
            schema_editor.execute(schema_editor._create_like_index_sql(wide, field))
        for field in (wide._meta.get_field(name) for name in ("client", "policy_version", "recorded_by")):
            schema_editor.execute(schema_editor._create_index_sql(wide, fields=[field]))

    def describe(self):
        return "The ledger's hashes as 32 bytes; its redundant indexes dropped"


class Migration(migrations.Migration):

    dependencies = [
        ("consent", "0012_do_not_sell_channel"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [CompactLedger()]
