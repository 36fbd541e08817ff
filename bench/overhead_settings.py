"""Relay's settings with bench/overhead_urls.py as the URL conf: the API plus a bare view
(bench/api_overhead.py)."""

from relay.settings import *  # noqa: F403

ROOT_URLCONF = "bench.overhead_urls"
