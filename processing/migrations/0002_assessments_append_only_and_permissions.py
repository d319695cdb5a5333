"""On PostgreSQL the database refuses to change or delete an approved impact assessment, whoever asks, and to empty
the table (PIPL Art. 56: the report is kept at least three years). A draft may still be edited and approved. And the
staff roles: privacy officers write, approve and read; Legal approves and reads; support agents see none of it."""

from django.db import migrations

from accounts.roles import role_permissions_grant

FORWARD = """
CREATE OR REPLACE FUNCTION processing_assessment_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'an approved impact assessment is kept unchanged: ' || TG_OP || ' on ' || TG_TABLE_NAME || ' refused',
        ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER processing_assessment_approved_unchanged
    BEFORE UPDATE OR DELETE ON processing_impactassessment
    FOR EACH ROW WHEN (OLD.approved_at IS NOT NULL) EXECUTE FUNCTION processing_assessment_refuse_change();

CREATE TRIGGER processing_assessment_no_truncate
    BEFORE TRUNCATE ON processing_impactassessment
    FOR EACH STATEMENT EXECUTE FUNCTION processing_assessment_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS processing_assessment_approved_unchanged ON processing_impactassessment;
DROP TRIGGER IF EXISTS processing_assessment_no_truncate ON processing_impactassessment;
DROP FUNCTION IF EXISTS processing_assessment_refuse_change();
"""

GRANTS = {
    "Privacy officers": ["view_impactassessment", "add_impactassessment", "change_impactassessment",
                         "approve_impactassessment", "view_processing_record"],
    "Legal": ["view_impactassessment", "approve_impactassessment", "view_processing_record"],
}


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


def grant(apps, schema_editor):
    role_permissions_grant(apps, app_label="processing", grants=GRANTS)


class Migration(migrations.Migration):
    dependencies = [("processing", "0001_initial"), ("accounts", "0002_staff_groups")]
    operations = [migrations.RunPython(forward, backward), migrations.RunPython(grant, migrations.RunPython.noop)]
