"""The product's settings with the bench-only URLs (the naive baseline API and a trivial view) added in front.

Only gunicorn started by the benchmarks uses it (DJANGO_SETTINGS_MODULE=bench.settings); the product never imports bench.
"""

from fulfillmen.settings import *  # noqa: F403  (the product settings, unchanged)

ROOT_URLCONF = "bench.urls"
