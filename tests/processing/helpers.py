"""Approved impact assessments for tests that give data to a recipient: the duty (PIPL Art. 55) is that one exists
before the first agreement, written by one privacy officer and approved by another."""

from datetime import timedelta

from django.utils import timezone

from accounts.services import staff_user_ensure
from processing.models import ImpactAssessment
from processing.selectors import CURRENT, assessment_state
from processing.services import impact_assessment_approve, impact_assessment_save

TEXT = dict(scope="Which data, which clients, for what.", necessity="Lawful and necessary.",
            risks="Loss or misuse of the data shared.", measures="Agreement, sharing records, notices.",
            conclusion="Acceptable with the measures.")


def assessors():
    assessor = staff_user_ensure(email="assessor@example.com", password="assessor-pass-42", groups=["Privacy officers"])
    approver = staff_user_ensure(email="approver@example.com", password="approver-pass-42", groups=["Privacy officers"])
    return assessor, approver


def assessment_draft(*, assessor, review_in_days=365, **subject) -> ImpactAssessment:
    return impact_assessment_save(assessment=ImpactAssessment(
        **subject, **TEXT, review_due=timezone.localdate() + timedelta(days=review_in_days)), actor=assessor)


def assessments_approve(*, recipient=None, purpose=None) -> list[ImpactAssessment]:
    """An approved, current assessment of `recipient` and of `purpose` (when it needs one), unless one is current."""
    subjects = ([{"recipient": recipient}] if recipient is not None else []) + (
        [{"purpose": purpose}] if purpose is not None and purpose.impact_assessment_required else [])
    pending = [s for s in subjects if assessment_state(**s).status != CURRENT]
    if not pending:
        return []
    assessor, approver = assessors()
    return [impact_assessment_approve(assessment=assessment_draft(assessor=assessor, **s), approver=approver)
            for s in pending]
