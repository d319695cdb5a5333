"""The breach register (GDPR Art. 33(5), 34; PIPL Art. 57): every personal data breach, the clients and data it
concerned, the 72-hour clock to the supervisory authority, and who was told what and when. Audited, append-only."""

from datetime import timedelta

from django.db import models
from django.utils.translation import gettext_lazy as _

NOTIFY_WITHIN = timedelta(hours=72)  # GDPR Art. 33(1); PIPL Art. 57 asks for "immediately"


class Breach(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    title = models.CharField(_("title"), max_length=200, help_text=_("A short name for the incident, for staff."))
    discovered_at = models.DateTimeField(_("discovered at"), help_text=_("When Fulfillmen became aware of the breach: "
                                                                         "the 72-hour clock starts here."))
    occurred_from = models.DateTimeField(_("occurred from"), null=True, blank=True)
    occurred_until = models.DateTimeField(_("occurred until"), null=True, blank=True)
    categories = models.JSONField(_("data categories"), default=list)
    approx_clients = models.PositiveIntegerField(_("approximate number of clients"), null=True, blank=True)
    approx_records = models.PositiveIntegerField(_("approximate number of records"), null=True, blank=True)
    # What the authority and the clients are told, in both languages of the portal.
    nature = models.TextField(_("nature of the breach (English)"))
    nature_zh = models.TextField(_("nature of the breach (Chinese)"), blank=True)
    consequences = models.TextField(_("likely consequences (English)"))
    consequences_zh = models.TextField(_("likely consequences (Chinese)"), blank=True)
    measures = models.TextField(_("measures taken or proposed (English)"))
    measures_zh = models.TextField(_("measures taken or proposed (Chinese)"), blank=True)
    client_advice = models.TextField(_("what clients can do (English)"), blank=True)
    client_advice_zh = models.TextField(_("what clients can do (Chinese)"), blank=True)
    dpo_contact = models.TextField(_("data protection officer's contact"))
    authority_name = models.CharField(_("supervisory authority"), max_length=200, blank=True)
    authority_notified_at = models.DateTimeField(_("authority notified at"), null=True, blank=True)
    authority_reference = models.CharField(_("authority's reference"), max_length=200, blank=True)
    delay_reason = models.TextField(_("reasons for a notification later than 72 hours"), blank=True)
    notice_requested_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, blank=True,
                                            related_name="+")
    notice_requested_at = models.DateTimeField(null=True, blank=True)
    notice_sent_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    clients_notified_at = models.DateTimeField(_("clients notified at"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    closed_reason = models.TextField(blank=True)
    alert_48_at = models.DateTimeField(null=True, blank=True)
    alert_72_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("personal data breach")
        verbose_name_plural = _("personal data breaches")
        ordering = ["-discovered_at", "-id"]

    def __str__(self):
        return f"BR-{self.pk or 0:04d} · {self.title}"

    @property
    def deadline(self):
        return self.discovered_at + NOTIFY_WITHIN


class BreachSubject(models.Model):
    """A client the breach concerned, with the data categories of theirs it affected.

    `withheld_until`: the client was found only through a disclosure under a non-disclosure requirement; until that
    date the row is Legal's alone (absent for everyone else) and the client is not yet told."""

    breach = models.ForeignKey(Breach, on_delete=models.PROTECT, related_name="subjects")
    client = models.ForeignKey("accounts.Client", on_delete=models.PROTECT, related_name="breaches")
    categories = models.JSONField(default=list)
    withheld_until = models.DateField(null=True, blank=True)
    selected_at = models.DateTimeField()
    notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["breach", "client"], name="breach_subject_unique")]


class BreachAuditEntry(models.Model):
    """Every change of a breach, by whom (nobody: the beat task) and what. Append-only."""

    class Action(models.TextChoices):
        RECORDED = "recorded", _("Recorded")
        EDITED = "edited", _("Edited")
        SELECTED = "selected", _("Clients selected")
        AUTHORITY_NOTIFIED = "authority", _("Authority notified")
        NOTICE_REQUESTED = "notice-asked", _("Client notice prepared")
        NOTICE_SENT = "notice-sent", _("Client notice approved and sent")
        ALERT = "alert", _("Alert sent")
        CLOSED = "closed", _("Closed")

    breach = models.ForeignKey(Breach, on_delete=models.PROTECT, related_name="audit")
    actor = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    action = models.CharField(max_length=12, choices=Action.choices)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "id"]


class BreachNote(models.Model):
    """What was learnt after a notification (GDPR Art. 33(4): information in phases): appended, never a rewrite."""

    breach = models.ForeignKey(Breach, on_delete=models.PROTECT, related_name="notes")
    author = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    text = models.TextField()

    class Meta:
        ordering = ["at", "id"]
