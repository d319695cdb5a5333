"""Where the rate limits count (issue #16.10): one counter for every worker, or one per process.

Every limiter counts in Django's default cache: the public request form (per address and per e-mail,
rights/views/public.py), API key guessing (per address, sharing/authentication.py) and the API's requests per key
(DRF's SimpleRateThrottle, sharing/api.py). With REDIS_URL or CACHE_URL set that cache is Redis, so all worker
processes, on every machine, add to the same counters. Without it the cache is each process's own memory: a site
served by four processes then allows four times each limit. The log-in lockout (django-axes) and the staff's wrong
two-factor codes (django-otp) count in PostgreSQL, so they are shared in both modes.

The mode is logged when a process starts, and `manage.py check` warns when production (DEBUG=false) runs with
per-process counters.
"""

import logging

from django.conf import settings
from django.core import checks

logger = logging.getLogger("fulfillmen")

# Backends that keep their counters inside one process (the dummy cache keeps none at all).
PER_PROCESS = {"django.core.cache.backends.locmem.LocMemCache", "django.core.cache.backends.dummy.DummyCache"}


def rate_limits_shared() -> bool:
    return settings.CACHES["default"]["BACKEND"] not in PER_PROCESS


def rate_limit_mode_log() -> None:
    """One line at start-up saying which mode is active (the cache's address is not logged: it may hold a password)."""
    if rate_limits_shared():
        logger.info("Rate limits count in the shared cache (%s): one counter across all worker processes.",
                    settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1])
    else:
        logger.warning("Rate limits count per worker process (no REDIS_URL or CACHE_URL): each process allows the "
                       "full limit. Set REDIS_URL (or CACHE_URL) so that all workers share one counter.")


@checks.register
def production_rate_limits_are_shared(app_configs=None, **kwargs):
    if settings.DEBUG or rate_limits_shared():
        return []
    return [checks.Warning(
        "Rate limits count per worker process: with several processes an attacker gets each limit once per process "
        "(public request form, API key guessing, API requests per key).",
        hint="Set REDIS_URL (or CACHE_URL) to a Redis every worker reaches.",
        obj="fulfillmen.rate_limits", id="fulfillmen.W001")]
