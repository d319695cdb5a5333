"""The check consent and sharing ask before a processing starts (consent/impact_hooks.py; PIPL Art. 55): an approved,
current impact assessment must cover the recipient that is to be given data, and the purpose when it processes
sensitive data, decides automatically or sends data abroad. Registered in ProcessingConfig.ready()."""

from django.utils import formats
from django.utils.translation import gettext as _

from .selectors import MISSING, OVERDUE, assessment_state


def _refusal(subject, state) -> str | None:
    if state.status == MISSING:
        return _("No approved impact assessment covers “%(subject)s” (PIPL Art. 55): record one under Impact "
                 "assessments and have another person approve it first.") % {"subject": subject}
    if state.status == OVERDUE:
        return _("The impact assessment of “%(subject)s” was due for review on %(date)s (PIPL Art. 55): record a new "
                 "one and have another person approve it first.") % {
            "subject": subject, "date": formats.date_format(state.assessment.review_due, "DATE_FORMAT")}
    return None


def activation_refusal(*, purpose=None, recipient=None) -> str | None:
    """Why giving data to `recipient` (for `purpose`), or starting `purpose`, is refused; None when it may start."""
    if recipient is not None:
        if recipient.pk is None:
            return _("A new recipient receives no data before an impact assessment of it is approved (PIPL Art. 55): "
                     "save it without an agreement, record its assessment, have another person approve it, then add "
                     "the agreement.")
        refusal = _refusal(recipient.name, assessment_state(recipient=recipient))
        if refusal:
            return refusal
    if purpose is not None and purpose.impact_assessment_required:
        if purpose.pk is None:
            return _("A new purpose that processes sensitive data, decides automatically or sends data abroad needs an "
                     "approved impact assessment first (PIPL Art. 55): save it without these, record its assessment, "
                     "have another person approve it, then set them.")
        return _refusal(purpose.title, assessment_state(purpose=purpose))
    return None
