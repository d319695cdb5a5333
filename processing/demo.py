"""Approved impact assessments for `seed_demo`, so the demo recipients can be given their agreements (PIPL Art. 55):
written by the demo privacy officer, approved by the demo Legal login (four eyes), reviewed in a year. Only for
purposes and recipients without a current one; safe to run again."""

from datetime import timedelta

from django.utils import timezone

from accounts.models import User
from consent.models import Purpose

from .models import ImpactAssessment
from .selectors import CURRENT, assessment_state
from .services import impact_assessment_approve, impact_assessment_save

ASSESSOR, APPROVER = "privacy@demo.test", "legal@demo.test"


def _demo_text(subject) -> dict:
    return {
        "scope": f"Demo data: what {subject} processes, as the privacy policy describes it.",
        "necessity": "Demo data: the purpose and the data named in the policy are necessary for the service.",
        "risks": "Demo data: misuse or loss of the data shared; transfer outside China where it applies.",
        "measures": "Demo data: a signed agreement limited to the policy's data, sharing records, withdrawal notices.",
        "conclusion": "Demo data: acceptable with the measures above.",
    }


def demo_assessments_ensure(*, recipients) -> int:
    """Approve an assessment for each given recipient and each catalogue purpose that needs one, where none is current."""
    assessor, approver = User.objects.get(email=ASSESSOR), User.objects.get(email=APPROVER)
    subjects = [{"recipient": r} for r in recipients]
    subjects += [{"purpose": p} for p in Purpose.objects.all() if p.impact_assessment_required]
    made = 0
    for subject in subjects:
        if assessment_state(**subject).status == CURRENT:
            continue
        draft = impact_assessment_save(assessment=ImpactAssessment(
            **subject, **_demo_text(next(iter(subject.values()))),
            review_due=timezone.localdate() + timedelta(days=365)), actor=assessor)
        impact_assessment_approve(assessment=draft, approver=approver)
        made += 1
    return made
