"""A least-recently-used cache bounded by the bytes of what it holds, not by a count.

Every rendered document, every stored response and every computed combination of
topics is kept in one of these: a flood of distinct URLs costs at most the
configured bytes (``FEEDS_CACHE_BYTES``), whatever the documents' sizes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class ByteCache(Generic[K, V]):
    """Keeps values with their sizes; drops the least recently used beyond ``limit`` bytes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            self._items.move_to_end(key)
            return found[0]

    def peek(self, key: K) -> V | None:
        """:meth:`get` without the lock, for the hottest path: each step is atomic, and a
        value dropped meanwhile is simply not marked used."""
        found = self._items.get(key)
        if found is None:
            return None
        try:  # noqa: SIM105  # suppress() would cost more than the whole look-up
            self._items.move_to_end(key)
        except KeyError:  # dropped by a put in another thread just now
            pass
        return found[0]

    def put(self, key: K, value: V, size: int) -> None:
        """Keep ``value``; one larger than the whole limit is not kept at all."""
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.size -= old[1]
            if size > self.limit:
                return
            self._items[key] = (value, size)
            self.size += size
            while self.size > self.limit:
                _, (_, dropped) = self._items.popitem(last=False)
                self.size -= dropped

    def copy(self, keep: Callable[[V], bool]) -> ByteCache[K, V]:
        """A new cache with the values ``keep`` accepts, in the same order."""
        new: ByteCache[K, V] = ByteCache(self.limit)
        with self._lock:
            for key, (value, size) in self._items.items():
                if keep(value):
                    new._items[key] = (value, size)
                    new.size += size
        return new

    def __len__(self) -> int:
        return len(self._items)
