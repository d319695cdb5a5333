"""On PostgreSQL the database refuses to change or delete a published policy version, whoever asks."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION policy_version_refuse_change() RETURNS trigger AS $$
BEGIN
    IF OLD.published_at IS NOT NULL THEN
        RAISE EXCEPTION USING
            MESSAGE = 'policy version ' || OLD.label || ' is published and cannot be changed or deleted',
            ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER policy_version_published_is_final
    BEFORE UPDATE OR DELETE ON amendments_policyversion
    FOR EACH ROW EXECUTE FUNCTION policy_version_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS policy_version_published_is_final ON amendments_policyversion;
DROP FUNCTION IF EXISTS policy_version_refuse_change();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("amendments", "0002_policy_lifecycle")]
    operations = [migrations.RunPython(forward, backward)]
