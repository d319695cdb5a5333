"""Sent inside `policy_publish`'s transaction once a version is published: `version` (a PolicyVersion) and `at`.
Webhooks (a higher floor) tells every subscribed recipient (`policy.amended`, issue #19)."""

from django.dispatch import Signal

policy_published = Signal()
