"""Versions of the privacy policy: drafts that staff edit, then published versions that never change."""

from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _


class PolicyVersion(models.Model):
    label = models.CharField(_("version"), max_length=20, unique=True, help_text=_("e.g. 2.0"))
    summary = models.TextField(_("summary of changes (English)"), blank=True)
    summary_zh_hans = models.TextField(_("summary of changes (Simplified Chinese)"), blank=True)
    body_en = models.TextField(_("text (English, Markdown)"))
    body_zh_hans = models.TextField(_("text (Simplified Chinese, Markdown)"), blank=True)
    is_material = models.BooleanField(
        _("material change"), default=False,
        help_text=_("New recipients, new purposes or transfers abroad: clients must be told well in advance."))
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    effective_at = models.DateTimeField(_("effective at"), null=True, blank=True)
    published_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, null=True)

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

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    def body(self, language: str | None = None) -> str:
        language = language or get_language() or "en"
        return self.body_zh_hans if language.startswith("zh") and self.body_zh_hans else self.body_en

    def summary_in(self, language: str | None = None) -> str:
        language = language or get_language() or "en"
        return self.summary_zh_hans if language.startswith("zh") and self.summary_zh_hans else self.summary


class NoticeDelivery(models.Model):
    """One notice of one policy version to one client on one channel: written before anything is sent.

    The unique constraint makes "publish twice" and "a task run twice" harmless; the status moves
    queued → claimed (a worker took it) → sent / failed, or is `skipped` from the start with the reason.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        SMS = "sms", _("SMS")

    class Kind(models.TextChoices):
        NOTICE = "notice", _("Notice of change")
        REMINDER = "reminder", _("Reminder before the change")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        CLAIMED = "claimed", _("Being sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")

    version = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="deliveries")
    client = models.ForeignKey("accounts.Client", on_delete=models.PROTECT, related_name="notice_deliveries")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.NOTICE)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    reason = models.CharField(max_length=300, blank=True, help_text=_("Why it failed or was skipped."))
    claim_token = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    retry_at = models.DateTimeField(null=True, blank=True, help_text=_("After a temporary error: not before this time."))
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notice delivery")
        verbose_name_plural = _("notice deliveries")
        constraints = [models.UniqueConstraint(fields=["version", "client", "channel", "kind"], name="one_notice_per_channel")]
        indexes = [models.Index(fields=["version", "kind", "status", "id"], name="notice_queue_idx")]
