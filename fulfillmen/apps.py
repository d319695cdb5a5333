import logging

from django.apps import AppConfig
from django.conf import settings

logger = logging.getLogger("fulfillmen")


class FulfillmenConfig(AppConfig):
    name = "fulfillmen"
    verbose_name = "Fulfillmen Privacy Portal"

    def ready(self):
        from . import cookies  # noqa: F401  (registers the system check on non-essential cookies)
        from .db_router import register as replica_router_register
        from .rate_limits import rate_limit_mode_log  # (registers the system check on per-process rate limits)

        rate_limit_mode_log()
        replica_router_register()  # the marked portal pages' reads may go to the replica (no-op without one)

        if settings.CELERY_TASK_ALWAYS_EAGER:
            logger.warning(
                "REDIS_URL is not set: Celery tasks run in-process (quick-start mode). "
                "Set REDIS_URL and start a worker for production."
            )
