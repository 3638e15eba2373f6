"""`helpdesk.caching.cached` (TKT-06 dashboard and view counts): fresh values come from the
cache, an old one is recomputed by one request while the others keep the previous value, and
a cold key is computed once while concurrent callers wait for it."""

from __future__ import annotations

import threading
import time

import pytest
from django.core.cache import cache

from helpdesk.caching import cached


@pytest.fixture(autouse=True)
def _clear():
    cache.clear()
    yield
    cache.clear()


def test_tkt06_a_fresh_value_is_served_without_computing():
    calls = []
    assert cached("k", lambda: calls.append(1) or "first", fresh=30) == "first"
    assert cached("k", lambda: calls.append(1) or "second", fresh=30) == "first"
    assert calls == [1]


def test_tkt06_an_old_value_is_recomputed_once_and_others_get_the_previous_one():
    cached("k", lambda: "old", fresh=30)
    stamp, value = cache.get("k")
    cache.set("k", (stamp - 60, value))  # a minute old
    cache.add("k:computing", 1, 10)  # another request is computing it
    assert cached("k", lambda: "new", fresh=30) == "old"
    cache.delete("k:computing")
    assert cached("k", lambda: "new", fresh=30) == "new"
    assert cached("k", lambda: "newer", fresh=30) == "new"


def test_tkt06_a_cold_key_is_computed_once_while_others_wait():
    calls = []
    results = []

    def slow():
        calls.append(1)
        time.sleep(0.3)
        return "value"

    threads = [
        threading.Thread(target=lambda: results.append(cached("cold", slow))) for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["value"] * 4
    assert calls == [1]


def test_tkt06_a_failed_computation_releases_the_lock():
    def broken():
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        cached("k", broken)
    assert cache.get("k:computing") is None
    assert cached("k", lambda: "ok") == "ok"


def test_a_prefixed_clear_leaves_other_deployments_keys(settings):
    """Two deployments (or two test workers) sharing one Redis: one's `clear()` removes its
    own keys only, where Django's flushes the whole database (and the other's sessions)."""
    if not settings.REDIS_URL:
        pytest.skip("needs Redis")
    from django.core.cache import caches

    from helpdesk.caching import PrefixedRedisCache

    mine = PrefixedRedisCache(settings.REDIS_URL, {"KEY_PREFIX": "mine[1]"})
    theirs = PrefixedRedisCache(settings.REDIS_URL, {"KEY_PREFIX": "theirs"})
    mine.set_many({f"k{n}": n for n in range(1500)})
    theirs.set("k1", "kept")
    mine.clear()
    assert mine.get("k1") is None and mine.get("k1499") is None
    assert theirs.get("k1") == "kept"
    theirs.clear()
    assert theirs.get("k1") is None
    assert isinstance(caches["default"], PrefixedRedisCache)
