"""Requests per token per minute (issue 16, item 2): a fixed one-minute window counted in the
cache (Redis in production: one INCR per request, shared by every web process)."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache


def rate_limit_hit(token_id: int, *, now: float | None = None) -> int | None:
    """Count one request of this token; None if it is within the limit, else the seconds to
    wait (for `Retry-After`) until the window ends."""
    limit = settings.API_RATE_LIMIT_PER_MINUTE
    if limit <= 0:  # off
        return None
    now = time.time() if now is None else now
    window = int(now // 60)
    key = f"api-rate:{token_id}:{window}"
    # add() sets the counter only if absent, so concurrent first requests count once each.
    cache.add(key, 0, timeout=70)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: this request starts the window
        cache.set(key, 1, timeout=70)
        count = 1
    if count > limit:
        return max(1, int((window + 1) * 60 - now + 0.999))
    return None
