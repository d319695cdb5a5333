"""Issue #18.9: receipt acknowledged once (`acknowledged_at`), the requester's language, and the verification pauses
of the deadline (`RequestClockPause`; the CCPA's rule lets none move the deadline, 11 CCR §7021(b)). Requests already
answered by e-mail count as acknowledged at their first outgoing message."""

from django.conf import settings
from django.db import migrations, models
import django.db.models.deletion


def load(apps, schema_editor):
    Rule = apps.get_model("rights", "ResponseDeadlineRule")
    Rule.objects.filter(jurisdiction="us-ca").update(verification_pauses_clock=False)
    Request = apps.get_model("rights", "DataSubjectRequest")
    Message = apps.get_model("rights", "RequestMessage")
    first = (Message.objects.filter(request=models.OuterRef("pk"), direction="out").order_by("at", "id")
             .values("at")[:1])
    Request.objects.filter(acknowledged_at__isnull=True).update(acknowledged_at=models.Subquery(first))


class Migration(migrations.Migration):

    dependencies = [
        ('rights', '0006_retention_run'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='datasubjectrequest',
            name='acknowledged_at',
            field=models.DateTimeField(blank=True, help_text='When receipt was confirmed to the requester (within 10 business days, 11 CCR §7021(a)).', null=True),
        ),
        migrations.AddField(
            model_name='datasubjectrequest',
            name='clock_paused_since',
            field=models.DateTimeField(blank=True, help_text="While set, verification of the requester's identity stops the deadline (see the pauses below).", null=True),
        ),
        migrations.AddField(
            model_name='datasubjectrequest',
            name='language',
            field=models.CharField(blank=True, choices=[('en', 'English'), ('zh-hans', '简体中文')], help_text="The requester's language for e-mails when no client is linked (a client's own language is used otherwise).", max_length=10),
        ),
        migrations.AddField(
            model_name='responsedeadlinerule',
            name='verification_pauses_clock',
            field=models.BooleanField(default=True, help_text="Whether the time spent verifying the requester's identity is added to the deadline. Not under the CCPA: its 45 days run from receipt whatever verification takes (11 CCR §7021(b))."),
        ),
        migrations.CreateModel(
            name='RequestClockPause',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('reason', models.CharField(choices=[('email', 'Waiting for the requester to confirm their e-mail address'), ('identity', "Waiting for information to verify the requester's identity")], max_length=10)),
                ('note', models.TextField(blank=True, help_text='What was asked for, and how the identity was then verified.')),
                ('started_at', models.DateTimeField()),
                ('ended_at', models.DateTimeField(blank=True, null=True)),
                ('moves_deadline', models.BooleanField(default=True)),
                ('days_added', models.PositiveSmallIntegerField(default=0)),
                ('ended_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('request', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='pauses', to='rights.datasubjectrequest')),
                ('started_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['started_at', 'id'],
                'constraints': [models.UniqueConstraint(condition=models.Q(('ended_at__isnull', True)), fields=('request',), name='one_running_pause_per_request')],
            },
        ),
        migrations.RunPython(load, migrations.RunPython.noop),
    ]
