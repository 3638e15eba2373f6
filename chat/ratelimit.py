"""Per-address limits of the widget's public endpoints (CHAT-07): a fixed one-minute window
counted in the cache (Redis in production: one INCR per request, shared by every process).

Limits per client address and minute: `CHAT_RATE_LIMIT_START_PER_MINUTE` chats started (10),
`CHAT_RATE_LIMIT_MESSAGE_PER_MINUTE` messages, typing notices and feedback (120),
`CHAT_RATE_LIMIT_FILE_PER_MINUTE` files (20), `CHAT_RATE_LIMIT_TRACK_PER_MINUTE` tracked pages
and heartbeats (120); 0 turns one off."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache

DEFAULTS = {"start": 10, "message": 120, "file": 20, "track": 120}


def limit_of(action: str) -> int:
    return int(getattr(settings, f"CHAT_RATE_LIMIT_{action.upper()}_PER_MINUTE", DEFAULTS[action]))


def rate_limit_hit(action: str, ip: str | None, *, now: float | None = None) -> int | None:
    """Count one request; None within the limit, else the seconds until the window ends
    (for `Retry-After`)."""
    limit = limit_of(action)
    if limit <= 0:
        return None
    now = time.time() if now is None else now
    window = int(now // 60)
    key = f"chat-rate:{action}:{ip or '-'}:{window}"
    cache.add(key, 0, timeout=70)  # only if absent: concurrent first requests count once each
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: this request starts the window
        cache.set(key, 1, timeout=70)
        count = 1
    if count > limit:
        return max(1, int((window + 1) * 60 - now + 0.999))
    return None
