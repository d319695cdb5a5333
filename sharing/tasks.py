"""Thin tasks: call a service. Safe to run twice."""

from celery import shared_task

from .engagements import engagement_feeds_close


@shared_task
def close_engagement_feeds() -> int:
    """Beat: partners whose engagement with a client ended ENGAGEMENT_TAIL_DAYS ago are told to delete the client."""
    return engagement_feeds_close()
