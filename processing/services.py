"""Writes of impact assessments (PIPL Art. 55-56): a draft is written and edited by one person, approved by another,
and never changed afterwards (a database trigger refuses it too); a review is a new assessment."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import APPROVE_PERMISSION, ImpactAssessment


@transaction.atomic
def impact_assessment_save(*, assessment: ImpactAssessment, actor) -> ImpactAssessment:
    """Write or edit a draft. Whoever writes it last is its assessor, so the approver cannot be one of its authors."""
    if assessment.pk and ImpactAssessment.objects.filter(pk=assessment.pk, approved_at__isnull=False).exists():
        raise ValidationError(_("An approved impact assessment cannot be changed: record a new one to review it."))
    if assessment.review_due is not None and assessment.review_due <= timezone.localdate():
        raise ValidationError({"review_due": _("The review date must be in the future.")})
    assessment.assessed_by, assessment.assessed_at = actor, timezone.now()
    assessment.approved_by = assessment.approved_at = None
    assessment.full_clean()
    assessment.save()
    return assessment


@transaction.atomic
def impact_assessment_approve(*, assessment: ImpactAssessment, approver, at: datetime | None = None) -> ImpactAssessment:
    """Four eyes: a second person with the approval permission approves; from then on the assessment counts for the
    checks of consent/impact_hooks.py until its review date, and is kept unchanged."""
    locked = ImpactAssessment.objects.select_for_update().get(pk=assessment.pk)
    if locked.approved_at is not None:
        raise ValidationError(_("This impact assessment is already approved."))
    if approver.pk == locked.assessed_by_id:
        raise ValidationError(_("Four eyes: whoever wrote an impact assessment cannot approve it; another person must."))
    if not (approver.is_active and approver.has_perm(APPROVE_PERMISSION)):
        raise ValidationError(_("Only a privacy officer or Legal may approve an impact assessment."))
    if locked.review_due <= timezone.localdate():
        raise ValidationError(_("Its review date has passed: record a new assessment instead."))
    locked.approved_by, locked.approved_at = approver, at or timezone.now()
    locked.save(update_fields=["approved_by", "approved_at"])
    return locked
