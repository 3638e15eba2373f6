"""Chat tests' shared fixtures: a fresh rate-limit count in every test (the counters live in
the cache, which outlives a test)."""

from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
