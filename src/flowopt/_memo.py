"""Results computed once per log (or per table) and shared by the detectors that need them.

Several detectors need the same expensive intermediate result — the wait-cause table, the sign-off
table, the event costs. :class:`PerObjectCache` keeps the results for the last few owners, keyed by the
owner's identity plus whatever else the result depends on (e.g. a config section). The owner is kept alive
with its entry, so an ``id`` can never be reused while the entry exists. Thread-safe: when two threads ask for
the same missing result, one computes it and the other waits for it.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

import numpy as np

__all__ = ["PerObjectCache", "read_only"]

V = TypeVar("V")


class PerObjectCache(Generic[V]):
    """The last ``size`` results, keyed by ``(id(owner), key)``; the oldest entry goes first.

    Examples
    --------
    >>> cache: PerObjectCache[int] = PerObjectCache(size=2)
    >>> owner = object()
    >>> cache.get(owner, "k", lambda: 41 + 1), cache.get(owner, "k", lambda: 0)
    (42, 42)
    """

    def __init__(self, size: int = 4) -> None:
        self._size = size
        self._entries: dict[tuple[int, Hashable], tuple[object, V]] = {}
        self._lock = threading.Lock()  # guards the two dicts
        self._computing: dict[tuple[int, Hashable], threading.Lock] = {}  # one lock per result being computed

    def get(self, owner: object, key: Hashable, compute: Callable[[], V]) -> V:
        """The cached result for ``owner`` and ``key``, computing (and keeping) it on a miss."""
        slot = (id(owner), key)
        with self._lock:
            hit = self._entries.get(slot)
            if hit is not None and hit[0] is owner:
                return hit[1]
            slot_lock = self._computing.setdefault(slot, threading.Lock())
        with slot_lock:  # a second caller for the same slot waits here, then finds the result
            with self._lock:
                hit = self._entries.get(slot)
                if hit is not None and hit[0] is owner:
                    return hit[1]
            try:
                value = compute()
                with self._lock:
                    if len(self._entries) >= self._size:
                        self._entries.pop(next(iter(self._entries)))
                    self._entries[slot] = (owner, value)
            finally:
                with self._lock:  # also when compute() raised: no lock left behind for the slot
                    self._computing.pop(slot, None)
        return value


def read_only(value: V) -> V:
    """``value`` with the NumPy arrays it holds made read-only (the items of a tuple, the fields of a
    dataclass, or the array itself), for a result every caller shares: a cache entry no caller can change.

    Examples
    --------
    >>> a = read_only(("x", np.zeros(2)))[1]
    >>> a.flags.writeable
    False
    """
    if isinstance(value, tuple):
        items: list[object] = list(value)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        items = [getattr(value, f.name) for f in dataclasses.fields(value)]
    else:
        items = [value]
    for item in items:
        if isinstance(item, np.ndarray):
            item.setflags(write=False)
    return value
