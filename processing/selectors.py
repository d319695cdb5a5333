"""Reads of the impact assessments: which one is current for a purpose or a recipient, and what lacks one.

An assessment is current when it is approved and its review date has not passed. A recipient is "receiving" when it
is active and holds an agreement that has not ended; a purpose "needs" an assessment when it processes sensitive
data, decides automatically or sends data abroad (consent.Purpose.impact_assessment_required). No personal data of
clients is read here.
"""

from dataclasses import dataclass
from datetime import date

from django.db.models import Q
from django.utils import timezone

from consent.models import Purpose
from sharing.models import Affiliate, SharingAgreement

from .models import ImpactAssessment

CURRENT, OVERDUE, MISSING = "current", "overdue", "missing"


@dataclass(frozen=True)
class AssessmentState:
    status: str                                 # CURRENT, OVERDUE (the last approved one is due for review) or MISSING
    assessment: ImpactAssessment | None = None  # the current one, or the last approved one when overdue


def _state(approved: list[ImpactAssessment], today: date) -> AssessmentState:
    """`approved`: one subject's approved assessments, latest approval first."""
    current = [a for a in approved if a.review_due >= today]
    if current:
        return AssessmentState(CURRENT, max(current, key=lambda a: a.review_due))
    return AssessmentState(OVERDUE, approved[0]) if approved else AssessmentState(MISSING)


def assessment_state(*, purpose: Purpose | None = None, recipient: Affiliate | None = None,
                     today: date | None = None) -> AssessmentState:
    subject = {"purpose": purpose} if purpose is not None else {"recipient": recipient}
    approved = list(ImpactAssessment.objects.filter(approved_at__isnull=False, **subject).order_by("-approved_at", "-pk"))
    return _state(approved, today or timezone.localdate())


def assessment_states(*, today: date | None = None) -> dict[tuple[str, int], AssessmentState]:
    """Every purpose's and recipient's state, keyed ("purpose", id) / ("recipient", id), in one query. A subject
    without any approved assessment is absent: MISSING."""
    today = today or timezone.localdate()
    grouped: dict[tuple[str, int], list[ImpactAssessment]] = {}
    approved = (ImpactAssessment.objects.filter(approved_at__isnull=False)
                .select_related("assessed_by", "approved_by").order_by("-approved_at", "-pk"))
    for assessment in approved:
        key = ("purpose", assessment.purpose_id) if assessment.purpose_id else ("recipient", assessment.recipient_id)
        grouped.setdefault(key, []).append(assessment)
    return {key: _state(items, today) for key, items in grouped.items()}


def receiving_recipients(*, at=None) -> list[Affiliate]:
    """Active recipients with an agreement that has not ended (in force or starting later)."""
    at = at or timezone.now()
    open_agreements = SharingAgreement.objects.filter(Q(valid_until__isnull=True) | Q(valid_until__gt=at))
    return list(Affiliate.objects.filter(active=True, pk__in=open_agreements.values("affiliate_id")).order_by("name"))


@dataclass(frozen=True)
class Gap:
    kind: str                   # "purpose" or "recipient"
    subject: Purpose | Affiliate
    state: AssessmentState


def assessment_gaps(*, today: date | None = None) -> list[Gap]:
    """Purposes that need an assessment and receiving recipients whose assessment is missing or due for review.

    A per-recipient consent purpose (Purpose.parent) is made only to give data to its one recipient: the assessments
    of that recipient and of its parent purpose cover it (consent.services.purpose_save), and both are listed here on
    their own when they lack one, so it is not listed a second time."""
    states = assessment_states(today=today)
    missing = AssessmentState(MISSING)
    purposes = [p for p in Purpose.objects.filter(parent__isnull=True) if p.impact_assessment_required]
    gaps = [Gap("purpose", p, states.get(("purpose", p.pk), missing)) for p in purposes]
    gaps += [Gap("recipient", r, states.get(("recipient", r.pk), missing)) for r in receiving_recipients()]
    return [gap for gap in gaps if gap.state.status != CURRENT]
