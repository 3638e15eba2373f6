"""Figures that are costly to count and may be a little old (the dashboard, the list's view
counts): computed by one request at a time, served from the cache to the others.

`cached(key, compute, fresh=30)` returns the cached value while it is younger than `fresh`
seconds. Once it is older, the first request takes a lock in the cache and computes the new
value while every other request keeps getting the previous one (kept for `keep` seconds), so
an expiry costs one request its wait instead of all of them at once. With nothing cached, the
request that takes the lock computes and the others wait for its value (up to `wait`
seconds, then compute themselves).

`PrefixedRedisCache` is the cache backend (settings.CACHES): Redis, reusing one client per
connection pool, with a `clear()` that clears only this deployment's keys. Django's
`RedisCache.clear()` flushes the whole Redis database, so where several deployments (or the
test workers of pytest-xdist, each with its own `KEY_PREFIX`) share one Redis, one's clear
wiped the others' cached sessions and figures. Here a prefixed cache deletes only the keys
under its prefix; an unprefixed one still flushes the database, as Django's does."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

T = TypeVar("T")

POLL_SECONDS = 0.05


def cached(
    key: str,
    compute: Callable[[], T],
    *,
    fresh: float = 30,
    keep: float = 600,
    wait: float = 10,
) -> T:
    lock = f"{key}:computing"
    entry = cache.get(key)
    if entry is not None:
        stamp, value = entry
        if time.time() - stamp < fresh or not cache.add(lock, 1, int(wait) + 1):
            return value
    elif not cache.add(lock, 1, int(wait) + 1):
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            entry = cache.get(key)
            if entry is not None:
                return entry[1]
    try:
        value = compute()
        cache.set(key, (time.time(), value), keep)
    finally:
        cache.delete(lock)
    return value


# Characters Redis' MATCH pattern treats as special.
_GLOB = re.compile(r"([*?\[\]\\])")
_BATCH = 1000


class _ReusingClient(RedisCacheClient):
    """Django's client builds a new `redis.Redis` for every operation (about 0.2 ms each: it
    copies some 170 response callbacks); one per connection pool serves every thread."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._reused: dict[int, object] = {}  # id of a connection pool -> its client

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._reused.get(id(pool))
        if client is None:
            client = self._reused[id(pool)] = self._client(connection_pool=pool)
        return client


class PrefixedRedisCache(RedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = _ReusingClient

    def clear(self) -> bool:
        if not self.key_prefix:
            return super().clear()
        client = self._cache.get_client(None, write=True)
        pattern = _GLOB.sub(r"\\\1", self.key_prefix) + ":*"
        batch: list[bytes] = []
        for key in client.scan_iter(match=pattern, count=_BATCH):
            batch.append(key)
            if len(batch) >= _BATCH:
                client.delete(*batch)
                batch.clear()
        if batch:
            client.delete(*batch)
        return True
