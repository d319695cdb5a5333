"""Outbound webhooks (issue #19): a recipient's endpoints, the events it is told of, and one delivery row per event
and endpoint, written in the transaction of the change (the outbox pattern of notify)."""

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class EventType(models.TextChoices):
    CONSENT_WITHDRAWN = "consent.withdrawn", _("Consent withdrawn: delete the client")
    CONSENT_GRANTED = "consent.granted", _("Consent given (only where the agreement lets you know)")
    CLIENT_RECTIFIED = "client.rectified", _("Client data corrected")
    CLIENT_ERASED = "client.erased", _("Client erased: delete the client")
    AGREEMENT_CHANGED = "agreement.changed", _("Your sharing agreement changed")
    POLICY_AMENDED = "policy.amended", _("The privacy policy is being amended")
    TEST = "webhook.test", _("Test event")


SUBSCRIBABLE = [t for t in EventType.values if t != EventType.TEST]
# Events whose 2xx is the recipient's acknowledgement of the withdrawal notice behind them (GDPR Art. 19).
ACKNOWLEDGING = {EventType.CONSENT_WITHDRAWN, EventType.CLIENT_RECTIFIED, EventType.CLIENT_ERASED}


class WebhookEndpoint(models.Model):
    """Where a recipient wants to be told. The signing secret is stored encrypted (webhooks/secrets.py) and shown
    once, when it is made or rotated; during a rotation's overlap the previous one signs too."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    affiliate = models.ForeignKey("sharing.Affiliate", on_delete=models.PROTECT, related_name="webhook_endpoints",
                                  verbose_name=_("recipient"))
    url = models.URLField(_("URL"), max_length=500)
    events = models.JSONField(_("events"), help_text=_("The event types sent here."))
    secret_encrypted = models.TextField(editable=False)
    previous_secret_encrypted = models.TextField(blank=True, editable=False)
    previous_secret_until = models.DateTimeField(null=True, blank=True, editable=False)
    enabled = models.BooleanField(_("enabled"), default=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    # Health: consecutive failed attempts, since when, the last success, and when the partner managers were alerted.
    failures_in_row = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    alerted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey("accounts.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["affiliate", "created_at"]

    def __str__(self):
        return f"{self.url} ({self.affiliate})"


class WebhookEvent(models.Model):
    """One thing a recipient is told, as it will be signed and sent: its `webhook-id` is `msg_<public_id hex>` on
    every attempt and every endpoint. `notice` links the withdrawal notice it tells, which a 2xx acknowledges."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    affiliate = models.ForeignKey("sharing.Affiliate", on_delete=models.PROTECT, related_name="+")
    type = models.CharField(max_length=32, choices=EventType.choices)
    payload = models.JSONField()
    notice = models.ForeignKey("sharing.WithdrawalNotice", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+")
    # The client it is about (for wiping corrected values when the client is erased); never shown as such.
    client = models.ForeignKey("accounts.Client", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                               db_index=False)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        indexes = [models.Index(fields=["client", "type"], name="webhook_event_client_idx")]

    def __str__(self):
        return f"{self.type} {self.webhook_id}"

    @property
    def webhook_id(self) -> str:
        return f"msg_{self.public_id.hex}"


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed: gave up")

    event = models.ForeignKey(WebhookEvent, on_delete=models.PROTECT, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.PROTECT, related_name="deliveries", db_index=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_latency_ms = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # Retried until then (WEBHOOK_RETRY_HOURS after the event, or after a manual redelivery), then given up.
    retry_until = models.DateTimeField()
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["event", "endpoint"], name="one_delivery_per_event_endpoint")]
        indexes = [
            models.Index(fields=["endpoint", "next_attempt_at"], name="webhook_due_idx",
                         condition=models.Q(status="pending")),
            models.Index(fields=["claimed_at"], name="webhook_sending_idx", condition=models.Q(status="sending")),
        ]

    def __str__(self):
        return f"{self.event} → {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One try: when, the answer's status (none: no answer), how long it took, and the start of what came back."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    response_excerpt = models.CharField(max_length=1024, blank=True)

    class Meta:
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"#{self.pk}"
