"""A fixed-window counter for anonymous forms (Django's cache: one counter for all workers when Redis is configured).

Ground floor, so that every app's public form counts the same way: rights' request form, consent's "Do Not Sell or
Share" form. Values are hashed before they become cache keys: an e-mail address never appears in Redis.
"""

import hashlib

from django.core.cache import cache


def limit_reached(*, namespace: str, scope: str, value: str, limit: int, window_seconds: int) -> bool:
    """Count one submission for `value` in this window; True once more than `limit` were made."""
    key = "%s:%s:%s" % (namespace, scope, hashlib.sha256(value.encode()).hexdigest())
    cache.add(key, 0, window_seconds)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, window_seconds)
        count = 1
    return count > limit
