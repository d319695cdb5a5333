from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('notify', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='outboundmessage',
            name='wipe_recipient_after_send',
            field=models.BooleanField(default=False),
        ),
    ]
