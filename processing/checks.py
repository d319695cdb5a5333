"""`manage.py check --database default` warns of every purpose or receiving recipient without a current impact
assessment (PIPL Art. 55): missing, or past its review date. A database check, so plain `check` reads no table;
`migrate` runs it too, and before the table exists it says nothing. The privacy dashboard shows the same list."""

from django.core.checks import Tags, Warning, register
from django.db import connections


@register(Tags.database)
def impact_assessments_current(app_configs=None, databases=None, **kwargs):
    if not databases:
        return []
    from .models import ImpactAssessment

    if ImpactAssessment._meta.db_table not in connections["default"].introspection.table_names():
        return []  # not migrated yet
    from .selectors import OVERDUE, assessment_gaps

    warnings = []
    for gap in assessment_gaps():
        what = f"{gap.kind} “{gap.subject}”"
        if gap.state.status == OVERDUE:
            message = f"the impact assessment of {what} was due for review on {gap.state.assessment.review_due}"
        else:
            message = f"{what} has no approved impact assessment"
        warnings.append(Warning(message, hint="Record one in the admin (Impact assessments) and have another person "
                                              "approve it (PIPL Art. 55).", id="processing.W001"))
    return warnings
