"""The retention job: for each rule, count what has expired (and what a legal hold keeps), then — unless it is a dry
run — delete or anonymise it in batches, and leave one `RetentionRun` row with the counts.

Set-based and safe to run twice or concurrently: each batch is a `SELECT … FOR UPDATE SKIP LOCKED` of the rule's
expired items followed by one bulk DELETE/UPDATE in the same transaction, and an item dealt with no longer matches
its rule. Two runs at once share the work; neither waits for the other nor does anything twice.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..models import RetentionRun
from .rules import Action, RetentionRule, retention_rules

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RuleOutcome:
    code: str
    title: str
    action: Action
    done: int = 0     # deleted, anonymised or erased (a dry run: would be)
    held: int = 0     # expired, but kept: legal hold
    failed: int = 0   # an error stopped them; logged, tried again on the next run

    def as_counts(self) -> dict:
        return {"action": str(self.action), "done": self.done, "held": self.held, "failed": self.failed}


def _due(rule: RetentionRule, now: datetime):
    expired = rule.expired(now)
    if rule.held is None:
        return expired, 0
    held = rule.held()
    return expired.exclude(held), expired.filter(held).count()


def rule_enforce(rule: RetentionRule, *, now: datetime, dry_run: bool = False) -> RuleOutcome:
    """One rule: its counts, and (not a dry run) its expired items dealt with, one batch per transaction."""
    outcome = {"code": rule.code, "title": rule.title, "action": rule.action}
    if rule.action == Action.KEEP or rule.expired is None:
        return RuleOutcome(**outcome)
    due, held = _due(rule, now)
    if dry_run:
        return RuleOutcome(**outcome, done=due.count(), held=held)
    size = rule.batch_size or settings.RETENTION_BATCH_SIZE
    done, seen, failed = 0, set(), set()
    while True:
        with transaction.atomic():
            batch = list(due.exclude(pk__in=failed).order_by("pk").select_for_update(skip_locked=True, of=("self",))
                         .values_list("pk", flat=True)[:size])
            if not batch:
                break
            again = seen.intersection(batch)
            if again:  # a rule whose `apply` leaves items matching `expired`: stop rather than loop for ever
                logger.error("Retention rule %s left %d item(s) expired after dealing with them.", rule.code, len(again))
                failed.update(again)
                continue
            seen.update(batch)
            try:
                with transaction.atomic():
                    done += rule.apply(rule.model.objects.filter(pk__in=batch), now)
            except Exception:
                logger.exception("Retention rule %s failed on a batch of %d; tried again on the next run.",
                                 rule.code, len(batch))
                failed.update(batch)
    return RuleOutcome(**outcome, done=done, held=held, failed=len(failed))


def retention_enforce(*, dry_run: bool = False, now: datetime | None = None,
                      trigger: str = RetentionRun.Trigger.COMMAND) -> list[RuleOutcome]:
    """Every rule, in order; a real run leaves its `RetentionRun` (counts only), a dry run changes nothing at all."""
    started = timezone.now()
    now = now or started
    outcomes = [rule_enforce(rule, now=now, dry_run=dry_run) for rule in retention_rules()]
    if not dry_run:
        RetentionRun.objects.create(started_at=started, finished_at=timezone.now(), trigger=trigger,
                                    counts={o.code: o.as_counts() for o in outcomes})
    return outcomes


def last_retention_run() -> RetentionRun | None:
    return RetentionRun.objects.order_by("-finished_at", "-id").first()
