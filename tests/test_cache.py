"""The caches of rendered documents and stored answers are bounded in bytes."""

from __future__ import annotations

from feeds.cache import ByteCache


def test_a_cache_keeps_at_most_its_limit_in_bytes_least_recently_used_first() -> None:
    cache: ByteCache[str, bytes] = ByteCache(1000)
    for n in range(10):
        cache.put(f"k{n}", b"x" * 300, 300)
        assert cache.size <= 1000
    assert len(cache) == 3 and cache.get("k9") is not None
    assert cache.get("k7") is not None  # used: kept over k8
    cache.put("new", b"y", 300)
    assert cache.get("k8") is None and cache.peek("k7") is not None
    cache.put("huge", b"z" * 5000, 5000)  # larger than the whole limit: not kept
    assert cache.get("huge") is None and cache.size <= 1000


def test_replacing_a_value_counts_its_size_once() -> None:
    cache: ByteCache[str, int] = ByteCache(100)
    for _ in range(10):
        cache.put("same", 1, 60)
    assert cache.size == 60 and len(cache) == 1


def test_a_copy_keeps_what_it_is_told_to() -> None:
    cache: ByteCache[int, int] = ByteCache(100)
    for n in range(5):
        cache.put(n, n, 10)
    kept = cache.copy(lambda value: value % 2 == 0)
    assert [kept.get(n) for n in range(5)] == [0, None, 2, None, 4]
    assert kept.size == 30 and kept.limit == 100
