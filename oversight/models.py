"""No tables: only the permission that opens the privacy officer's dashboard (granted in a data migration)."""

from django.db import models

VIEW_PERMISSION = "oversight.view_dashboard"


class Dashboard(models.Model):
    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("view_dashboard", "Can view the privacy dashboard")]
