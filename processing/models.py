"""Personal information protection impact assessments (PIPL Art. 55-56; GDPR Art. 35): one per purpose or recipient
and review, written by one person and approved by another, then kept unchanged (a trigger refuses changes) for at
least three years. The record of processing (GDPR Art. 30) has no table: it is read from the live catalogue."""

import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

VIEW_RECORD_PERMISSION = "processing.view_processing_record"
APPROVE_PERMISSION = "processing.approve_impactassessment"
KEPT_YEARS = 3  # PIPL Art. 56: the report and the processing record are kept for at least three years


class ImpactAssessment(models.Model):
    """What is assessed (a purpose or a recipient), the four parts PIPL Art. 56 asks for, who wrote it and who else
    approved it, and when it must be reviewed. A draft may be edited; an approved assessment never changes: a review
    is a new assessment."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    purpose = models.ForeignKey("consent.Purpose", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                help_text=_("The purpose assessed: one that processes sensitive data, decides "
                                            "automatically or sends data abroad."))
    recipient = models.ForeignKey("sharing.Affiliate", on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="impact_assessments",
                                  help_text=_("The recipient assessed: another handler, a processor or a recipient abroad."))
    scope = models.TextField(_("scope"), help_text=_("Which processing, which data, which clients, for what."))
    necessity = models.TextField(_("lawfulness and necessity"), help_text=_(
        "Whether the purpose and the means are lawful, legitimate and necessary (PIPL Art. 56(1))."))
    risks = models.TextField(_("risks to clients"), help_text=_(
        "The effect on clients' rights and the security risks (PIPL Art. 56(2))."))
    measures = models.TextField(_("protective measures"), help_text=_(
        "The measures taken and whether they are lawful, effective and proportionate to the risk (PIPL Art. 56(3))."))
    conclusion = models.TextField(_("conclusion"))
    assessed_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("assessed by"))
    assessed_at = models.DateTimeField(_("assessed at"), default=timezone.now)
    approved_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                                    verbose_name=_("approved by"))
    approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    review_due = models.DateField(_("review due"), help_text=_(
        "After this day the assessment is no longer current: a new one must be approved."))

    class Meta:
        verbose_name = _("impact assessment")
        verbose_name_plural = _("impact assessments")
        ordering = ["-assessed_at", "-pk"]
        permissions = [("approve_impactassessment", "Can approve an impact assessment written by someone else"),
                       ("view_processing_record", "Can read the record of processing activities")]
        constraints = [
            models.CheckConstraint(name="impact_assessment_covers_one_thing",
                                   condition=models.Q(purpose__isnull=False, recipient__isnull=True)
                                   | models.Q(purpose__isnull=True, recipient__isnull=False)),
            models.CheckConstraint(name="impact_assessment_four_eyes",
                                   condition=models.Q(approved_by__isnull=True) | ~models.Q(approved_by=models.F("assessed_by"))),
            models.CheckConstraint(name="impact_assessment_approval_complete",
                                   condition=models.Q(approved_by__isnull=True, approved_at__isnull=True)
                                   | models.Q(approved_by__isnull=False, approved_at__isnull=False)),
        ]
        indexes = [models.Index(fields=["recipient", "review_due"], name="assessment_recipient_idx"),
                   models.Index(fields=["purpose", "review_due"], name="assessment_purpose_idx")]

    def __str__(self):
        return str(self.covers)

    @property
    def covers(self):
        return self.purpose if self.purpose_id else self.recipient

    @property
    def approved(self) -> bool:
        return self.approved_at is not None

    @property
    def keep_until(self):
        """Kept at least this long (PIPL Art. 56), counted from approval (or from writing, for a draft)."""
        start = (self.approved_at or self.assessed_at).date()
        try:
            return start.replace(year=start.year + KEPT_YEARS)
        except ValueError:  # 29 February
            return start.replace(year=start.year + KEPT_YEARS, day=28)
