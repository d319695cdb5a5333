"""Versions of the privacy policy. Minimal form: the amendments work adds notices, diffs and publishing rules."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PolicyVersion(models.Model):
    label = models.CharField(_("version"), max_length=20, unique=True)
    summary = models.TextField(_("summary of changes"), blank=True)
    body_en = models.TextField(_("text (English, Markdown)"))
    body_zh_hans = models.TextField(_("text (Simplified Chinese, Markdown)"), blank=True)
    is_material = models.BooleanField(_("material change"), default=False)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    effective_at = models.DateTimeField(_("effective at"), null=True, blank=True)

    class Meta:
        verbose_name = _("policy version")
        verbose_name_plural = _("policy versions")
        ordering = ["-effective_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(published_at__isnull=True) | models.Q(effective_at__isnull=False),
                name="published_policy_has_effective_date",
            )
        ]

    def __str__(self):
        return self.label
