"""When a request must be answered: the client's jurisdiction's rule, from the received date."""

from datetime import date

from dateutil.relativedelta import relativedelta

from accounts.jurisdictions import Jurisdiction

from .models import ResponseDeadlineRule


def due_date_for(*, jurisdiction: str, received: date) -> date:
    rules = {rule.jurisdiction: rule for rule in ResponseDeadlineRule.objects.filter(
        jurisdiction__in=[jurisdiction, Jurisdiction.OTHER])}
    rule = rules.get(jurisdiction) or rules.get(Jurisdiction.OTHER)
    if rule is None:
        return received + relativedelta(days=30)
    return received + relativedelta(months=rule.months, days=rule.days)
