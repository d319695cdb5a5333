"""The "Do Not Sell or Share" link's own channel (CCPA 1798.135). Widening a varchar is a catalogue change in
PostgreSQL: no ledger row is rewritten, so the append-only trigger has nothing to refuse."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('consent', '0011_purpose_per_recipient'),
    ]

    operations = [
        migrations.AlterField(
            model_name='consentevent',
            name='channel',
            field=models.CharField(choices=[('portal', 'Portal'), ('gpc', 'Global Privacy Control signal'), ('do-not-sell', 'Do Not Sell or Share link'), ('email', 'Email'), ('letter', 'Letter'), ('staff', 'Staff'), ('api', 'API'), ('import', 'Import'), ('signup', 'Sign-up')], max_length=16),
        ),
    ]
