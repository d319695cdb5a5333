"""The Celery app. Workers: `celery -A fulfillmen worker`; schedules: `celery -A fulfillmen beat`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fulfillmen.settings")

app = Celery("fulfillmen")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
