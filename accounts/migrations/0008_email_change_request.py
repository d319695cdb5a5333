"""E-mail changes that wait for the new address to confirm them (issue #16.5): one pending request per client."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("accounts", "0007_staff_access_refuses_truncate")]

    operations = [
        migrations.CreateModel(
            name="EmailChangeRequest",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("new_email", models.EmailField(blank=True, max_length=254, verbose_name="new e-mail address")),
                ("token_digest", models.CharField(editable=False, max_length=64, null=True, unique=True)),
                ("started_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="asked at")),
                ("expires_at", models.DateTimeField(verbose_name="link expires")),
                ("status", models.CharField(choices=[
                    ("pending", "Waiting for confirmation"), ("confirmed", "Confirmed"), ("expired", "Expired"),
                    ("replaced", "Replaced by a later request"),
                    ("refused", "Refused: the address belongs to another account")],
                    default="pending", max_length=10, verbose_name="status")),
                ("closed_at", models.DateTimeField(blank=True, null=True, verbose_name="closed at")),
                ("client", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="email_changes",
                                             to="accounts.client", verbose_name="client")),
                ("started_by", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+",
                                                 to=settings.AUTH_USER_MODEL, verbose_name="asked by")),
            ],
            options={
                "verbose_name": "e-mail address change",
                "verbose_name_plural": "e-mail address changes",
                "ordering": ["-started_at", "-id"],
                "constraints": [models.UniqueConstraint(condition=models.Q(("status", "pending")), fields=("client",),
                                                        name="email_change_one_pending_per_client")],
            },
        ),
    ]
