"""Thin tasks: call a service. Safe to run twice."""

from celery import shared_task

from .engagements import engagement_feeds_close


@shared_task
def close_engagement_feeds() -> int:
    """Beat: partners whose engagement with a client ended ENGAGEMENT_TAIL_DAYS ago are told to delete the client."""
    return engagement_feeds_close()


@shared_task
def maintain_sharing_partitions() -> int:
    """Beat, daily: sharing records' months created ahead, months past the retention period dropped (idempotent)."""
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from .partitions import sharing_partitions_maintain

    if connection.vendor != "postgresql":
        return 0
    report = sharing_partitions_maintain(now=timezone.now(), ahead=settings.SHARING_PARTITIONS_AHEAD,
                                         retention_months=settings.SHARING_RECORD_RETENTION_MONTHS,
                                         lock_timeout_ms=settings.SHARING_PARTITIONS_LOCK_TIMEOUT_MS)
    return len(report.created) + len(report.dropped)
