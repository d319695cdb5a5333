"""When a request must be answered and acknowledged: the client's jurisdiction's rule, counted from receipt.

The time spent verifying the requester's identity is added afterwards where the rule allows it
(rights/intake.py, `RequestClockPause`); receipt is confirmed within 10 business days (11 CCR §7021(a)).
"""

from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

from accounts.jurisdictions import Jurisdiction

from .models import ResponseDeadlineRule

ACKNOWLEDGE_WITHIN_BUSINESS_DAYS = 10


def rule_for(jurisdiction: str) -> ResponseDeadlineRule | None:
    rules = {rule.jurisdiction: rule for rule in ResponseDeadlineRule.objects.filter(
        jurisdiction__in=[jurisdiction, Jurisdiction.OTHER])}
    return rules.get(jurisdiction) or rules.get(Jurisdiction.OTHER)


def due_date_for(*, jurisdiction: str, received: date) -> date:
    rule = rule_for(jurisdiction)
    if rule is None:
        return received + relativedelta(days=30)
    return received + relativedelta(months=rule.months, days=rule.days)


def business_days_after(start: date, days: int) -> date:
    """`days` working days (Monday to Friday) after `start`; public holidays are not known here and count as
    working days, so the date is never later than the law's."""
    day = start
    while days > 0:
        day += timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


def acknowledgement_due_on(*, received: date) -> date:
    return business_days_after(received, ACKNOWLEDGE_WITHIN_BUSINESS_DAYS)
