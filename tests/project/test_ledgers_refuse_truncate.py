"""The ledgers cannot be emptied (issue #16.8): PostgreSQL refuses TRUNCATE on every table an append-only trigger
guards — the consent ledger and its personal values, the staff access log, the published policy versions —
through any connection, a superuser's included, and a TRUNCATE … CASCADE from the clients' table too.

The row triggers refuse UPDATE and DELETE but never fire for TRUNCATE; statement triggers (kept in the migrations)
close that. The test suite's own flush gets past them only because tests/conftest.py switches triggers off for the
flush's transaction (`session_replication_role = replica`, superuser only).
"""

import importlib

import psycopg
import pytest
from django.apps import apps as django_apps
from django.db import connection, transaction
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from accounts.access_log import Action, staff_access_record
from accounts.models import Client, StaffAccess
from amendments.models import PolicyVersion
from amendments.services import notice_period, policy_draft_save, policy_publish
from consent.models import ConsentEvent, ConsentEventPersonalData
from rights.models import RetentionRun
from rights.retention.enforce import retention_enforce
from tests.conftest import make_client
from transparency_log.checkpoints import checkpoint_publish
from transparency_log.models import LogHead, LogLeaf, LogNode, SignedCheckpoint

# table -> (the TRUNCATE trigger, the migration that creates it)
GUARDED = {
    "consent_consentevent": ("consent_event_no_truncate", "consent.migrations.0007_ledger_refuses_truncate"),
    "consent_consenteventpersonaldata": ("consent_event_personal_no_truncate",
                                         "consent.migrations.0007_ledger_refuses_truncate"),
    "accounts_staffaccess": ("accounts_staff_access_no_truncate", "accounts.migrations.0007_staff_access_refuses_truncate"),
    "amendments_policyversion": ("policy_version_no_truncate",
                                 "amendments.migrations.0007_published_versions_refuse_truncate"),
    # What each retention run did (issue #18.6): counts only, never rewritten.
    "rights_retentionrun": ("rights_retentionrun_no_truncate", "rights.migrations.0006_retention_run"),
    # The public consent log (issue #17): its leaves, stored hashes, signed checkpoints and size.
    **{table: (f"{table}_no_truncate", "transparency_log.migrations.0002_log_triggers") for table in [
        "transparency_log_logleaf", "transparency_log_lognode", "transparency_log_signedcheckpoint",
        "transparency_log_loghead"]},
}
MODELS = {"consent_consentevent": ConsentEvent, "consent_consenteventpersonaldata": ConsentEventPersonalData,
          "accounts_staffaccess": StaffAccess, "amendments_policyversion": PolicyVersion,
          "transparency_log_logleaf": LogLeaf, "transparency_log_lognode": LogNode,
          "transparency_log_signedcheckpoint": SignedCheckpoint, "transparency_log_loghead": LogHead,
          "rights_retentionrun": RetentionRun}

# pg_trigger.tgtype bits (PostgreSQL's include/catalog/pg_trigger.h)
ROW, BEFORE, DELETE, UPDATE, TRUNCATE = 1, 2, 8, 16, 32


def triggers():
    """(table, trigger name, tgtype, enabled) of every user-defined trigger in the schema."""
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT c.relname, t.tgname, t.tgtype, t.tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT t.tgisinternal AND n.nspname = current_schema()""")
        return cursor.fetchall()


def own_connection():
    """A connection of its own in autocommit, as a psql session or another process would have it."""
    params = connection.settings_dict
    return psycopg.connect(dbname=params["NAME"], user=params["USER"] or None, password=params["PASSWORD"] or None,
                           host=params["HOST"] or None, port=params["PORT"] or None, autocommit=True)


@pytest.mark.django_db(transaction=True)
def test_truncate_of_each_ledger_is_refused_and_its_rows_remain(privacy_officer):
    owner = make_client()
    staff_access_record(staff=privacy_officer, client_ids=[owner.pk], action=Action.VIEW_DETAIL, path="/admin/x/")
    policy_publish(version=policy_draft_save(label="2026-07", body_en="# Policy", summary="First."),
                   now=timezone.now() - notice_period(material=False), effective_at=timezone.now())
    checkpoint_publish()
    retention_enforce()
    before = {table: model.objects.count() for table, model in MODELS.items()}
    assert all(before.values()), before

    with own_connection() as conn:
        # CASCADE, or the foreign keys alone would stop most of them: the triggers must refuse what they allow.
        for table in GUARDED:
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="TRUNCATE on .* refused"):
                conn.execute(f"TRUNCATE {table} CASCADE")
        # Emptying the clients this way would take the ledger and the access log with it: refused as well -- by a
        # ledger's trigger or by the sharing records' reference guard (sharing migration 0010), whichever fires first.
        with pytest.raises((psycopg.errors.InsufficientPrivilege, psycopg.errors.ForeignKeyViolation),
                           match="TRUNCATE on .* refused|accounts_client cannot be emptied"):
            conn.execute("TRUNCATE accounts_client CASCADE")
        # The one table nothing refers to, alone: its own trigger answers.
        with pytest.raises(psycopg.errors.InsufficientPrivilege,
                           match="TRUNCATE on consent_consenteventpersonaldata refused"):
            conn.execute("TRUNCATE consent_consenteventpersonaldata")

    assert {table: model.objects.count() for table, model in MODELS.items()} == before
    assert Client.objects.filter(pk=owner.pk).exists()


@pytest.mark.django_db
def test_every_table_with_an_append_only_trigger_also_has_a_statement_trigger_before_truncate():
    found = triggers()
    # Row triggers on UPDATE or DELETE (the append-only guards; sharing records' statement-level reference check on
    # UPDATE, sharing migration 0010, guards no rows).
    append_only = {table for table, _, tgtype, _ in found if tgtype & ROW and tgtype & (UPDATE | DELETE)}
    refusing_truncate = {table: name for table, name, tgtype, enabled in found
                         if tgtype & TRUNCATE and tgtype & BEFORE and not tgtype & ROW and enabled == "O"}
    assert append_only <= set(refusing_truncate), f"no TRUNCATE trigger on {sorted(append_only - set(refusing_truncate))}"
    assert {table: name for table, (name, _) in GUARDED.items()} == {t: refusing_truncate.get(t) for t in GUARDED}


@pytest.mark.django_db
@pytest.mark.parametrize("table", GUARDED)
def test_the_truncate_trigger_comes_from_its_migration(table):
    """The migration is applied, its backward step drops the trigger and its forward step (the SQL kept in the
    migration) creates it again — in a transaction rolled back at the end."""
    name, module_path = GUARDED[table]
    app_label, _, migration_name = module_path.split(".")
    assert MigrationRecorder(connection).migration_qs.filter(app=app_label, name=migration_name).exists()
    migration = importlib.import_module(module_path)
    present = lambda: any(t == table and n == name for t, n, _, _ in triggers())  # noqa: E731
    assert present()
    with transaction.atomic():
        with connection.schema_editor(atomic=False) as editor:
            migration.backward(django_apps, editor)
        assert not present()
        with connection.schema_editor(atomic=False) as editor:
            migration.forward(django_apps, editor)
        assert present()
        transaction.set_rollback(True)
    assert present()
