"""Every email (and, with the amendments work, SMS) the portal sends is one row here, written before the send."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class OutboundMessage(models.Model):
    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        SMS = "sms", _("SMS")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Skipped")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    kind = models.CharField(_("kind"), max_length=40, help_text=_("What the message is, e.g. consent-receipt."))
    client = models.ForeignKey("accounts.Client", on_delete=models.SET_NULL, null=True, blank=True, related_name="messages")
    to = models.CharField(_("recipient"), max_length=254)
    subject = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    attachment_name = models.CharField(max_length=100, blank=True)
    attachment_body = models.TextField(blank=True)
    attachment_type = models.CharField(max_length=100, blank=True)
    # Sensitive bodies (password-reset links) are wiped once sent: the row stays as proof of delivery.
    wipe_body_after_send = models.BooleanField(default=False)
    # The last message to a client whose data is being erased: once it is sent (or has finally failed), the
    # recipient goes too, with the body; the row keeps only what was sent, when, and how it ended.
    wipe_recipient_after_send = models.BooleanField(default=False)
    # Whether the subject or body holds the client's name, decided when queued (the name may be erased by the time it
    # is sent): the processor's sharing record then names it among the data received (issue #18).
    # db_default: the set-based notices (INSERT … SELECT) that name nobody need not list it.
    carries_name = models.BooleanField(default=False, db_default=False)
    idempotency_key = models.CharField(max_length=128, unique=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sending_started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("outbound message")
        verbose_name_plural = _("outbound messages")
        indexes = [models.Index(fields=["status", "created_at"], name="message_status_idx")]
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.kind} to {self.to} ({self.status})"
