"""The per-log result cache: hits, eviction, identity, one computation when threads race; shared results frozen."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
import pytest

from flowopt._memo import PerObjectCache, read_only


def test_hit_miss_and_eviction() -> None:
    cache: PerObjectCache[int] = PerObjectCache(size=2)
    a, b, c = object(), object(), object()
    calls: list[str] = []

    def make(name: str, v: int):  # type: ignore[no-untyped-def]
        return lambda: calls.append(name) or v

    assert cache.get(a, None, make("a", 1)) == 1
    assert cache.get(a, None, make("a", 9)) == 1  # hit
    assert cache.get(a, "other key", make("a2", 2)) == 2
    assert cache.get(b, None, make("b", 3)) == 3  # evicts the oldest (a, None)
    assert cache.get(a, None, make("a", 4)) == 4
    assert calls == ["a", "a2", "b", "a"]
    assert cache.get(c, None, make("c", 5)) == 5


def test_racing_threads_compute_once() -> None:
    cache: PerObjectCache[int] = PerObjectCache()
    owner = object()
    calls = 0
    started = threading.Event()

    def slow() -> int:
        nonlocal calls
        calls += 1
        started.set()
        time.sleep(0.2)
        return 7

    results: list[int] = []
    t = threading.Thread(target=lambda: results.append(cache.get(owner, "k", slow)))
    t.start()
    started.wait()
    results.append(cache.get(owner, "k", slow))  # arrives while the first computes: waits for it
    t.join()
    assert results == [7, 7]
    assert calls == 1


def test_a_failed_computation_is_not_kept_and_is_retried() -> None:
    cache: PerObjectCache[int] = PerObjectCache()
    owner = object()

    def fail() -> int:
        raise ValueError("boom")

    try:
        cache.get(owner, "k", fail)
    except ValueError:
        pass
    assert not cache._computing  # no lock left behind for the slot
    assert cache.get(owner, "k", lambda: 3) == 3


@dataclass(frozen=True)
class _Result:
    values: np.ndarray
    label: str


def test_read_only_freezes_the_arrays_of_tuples_dataclasses_and_arrays() -> None:
    t = read_only(("level", np.zeros(3), np.ones(2)))
    r = read_only(_Result(np.arange(4), "x"))
    a = read_only(np.arange(2))
    for arr in (t[1], t[2], r.values, a):
        assert not arr.flags.writeable
        with pytest.raises(ValueError):
            arr[0] = 5
    assert t[0] == "level" and r.label == "x"
