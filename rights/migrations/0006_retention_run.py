"""The record of each retention run (counts only). On PostgreSQL the database refuses UPDATE, DELETE and TRUNCATE
on it, whoever asks: what the job did cannot be rewritten afterwards."""

from django.db import migrations, models

FORWARD = """
CREATE OR REPLACE FUNCTION rights_retention_run_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING
        MESSAGE = 'the retention record is append-only: ' || TG_OP || ' on ' || TG_TABLE_NAME || ' refused',
        ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER rights_retention_run_append_only
    BEFORE UPDATE OR DELETE ON rights_retentionrun
    FOR EACH ROW EXECUTE FUNCTION rights_retention_run_refuse_change();

CREATE TRIGGER rights_retentionrun_no_truncate
    BEFORE TRUNCATE ON rights_retentionrun
    FOR EACH STATEMENT EXECUTE FUNCTION rights_retention_run_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS rights_retentionrun_no_truncate ON rights_retentionrun;
DROP TRIGGER IF EXISTS rights_retention_run_append_only ON rights_retentionrun;
DROP FUNCTION IF EXISTS rights_retention_run_refuse_change();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):

    dependencies = [
        ('rights', '0005_holds_for_open_disclosures'),
    ]

    operations = [
        migrations.CreateModel(
            name='RetentionRun',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('started_at', models.DateTimeField()),
                ('finished_at', models.DateTimeField()),
                ('trigger', models.CharField(choices=[('schedule', 'Daily schedule'), ('command', 'Command')], max_length=10)),
                ('counts', models.JSONField(default=dict)),
            ],
            options={
                'ordering': ['-finished_at', '-id'],
            },
        ),
        migrations.RunPython(forward, backward),
    ]
