"""How much longer each law allows with notice (rules as data), and why a legal hold was released."""

from django.db import migrations, models

EXTENSIONS = {  # jurisdiction: (months, days)
    "eea": (2, 0),    # GDPR Art. 12(3): two further months
    "uk": (2, 0),     # UK GDPR Art. 12(3): the same
    "us-ca": (0, 45),  # CCPA §1798.130(a)(2), 11 CCR §7021(b): 45 more days
    "cn": (0, 30),    # PIPL names no extension: the Fulfillmen default
    "other": (0, 30),  # Fulfillmen default: 30 more days
}


def load(apps, schema_editor):
    """Idempotent; also run by tests/conftest.py after a transactional test's flush."""
    Rule = apps.get_model("rights", "ResponseDeadlineRule")
    for jurisdiction, (months, days) in EXTENSIONS.items():
        Rule.objects.filter(jurisdiction=jurisdiction, extension_months=0, extension_days=0).update(
            extension_months=months, extension_days=days)


class Migration(migrations.Migration):
    dependencies = [("rights", "0002_reference_data")]
    operations = [
        migrations.AddField(
            model_name="legalhold",
            name="release_reason",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="responsedeadlinerule",
            name="extension_days",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="responsedeadlinerule",
            name="extension_months",
            field=models.PositiveSmallIntegerField(default=0, help_text="At most this much longer, with notice."),
        ),
        migrations.RunPython(load, migrations.RunPython.noop),
    ]
