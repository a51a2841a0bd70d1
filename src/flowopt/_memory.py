"""NumPy's transparent huge pages, switched off while flowopt reads or analyses a log.

NumPy asks the kernel for 2 MB pages for every large array (``madvise(MADV_HUGEPAGE)``, where transparent huge
pages are enabled "on madvise", the default of many distributions). flowopt's reading and analysis make arrays
that are written once and soon freed, and there each huge page costs more than it saves: the kernel zeroes it,
and may first compact memory to find one, while the process waits — on a virtual machine, where memory is backed
on first touch, all the more. Measured on the 2-core VM of ``benchmarks/README.md``: ``read_log`` of a 10M-event
Parquet file 2.1-2.5 s against 3.2-3.3 s (kernel time 0.9-1.4 s against 2.4-2.8 s), ``analyze`` at 1M events
2.20-2.29 s against 2.39-2.53 s; no change at 1M for reading.

The switch is NumPy's own (what its ``NUMPY_MADVISE_HUGEPAGE`` environment variable sets at import), turned
off on entry and restored on exit; nested and concurrent calls share one switch-off. Where the user has set
``NUMPY_MADVISE_HUGEPAGE`` themselves, or this NumPy has no such switch, nothing is changed.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import ParamSpec, TypeVar

__all__ = ["arrow_system_pool", "small_pages", "with_small_pages"]

P = ParamSpec("P")
R = TypeVar("R")


class _Override:
    """A process-wide setting changed while any caller is inside :meth:`scope` and restored when the last one
    leaves (nested and concurrent scopes share one change). ``apply()`` makes the change and returns how to undo
    it, or None when there is nothing to change; nothing is changed while the environment variable ``env`` is
    set (the user's own choice)."""

    def __init__(self, env: str, apply: Callable[[], Callable[[], object] | None]) -> None:
        self._env, self._apply = env, apply
        self._lock = threading.Lock()
        self._depth = 0
        self._undo: Callable[[], object] | None = None

    @contextmanager
    def scope(self) -> Iterator[None]:
        if self._env in os.environ:
            yield
            return
        with self._lock:
            if self._depth == 0:
                self._undo = self._apply()
            self._depth += 1
        try:
            yield
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0 and self._undo is not None:
                    self._undo()
                    self._undo = None


def _pages_off() -> Callable[[], object] | None:
    """NumPy's huge-page advice off (NumPy's own switch, which returns the previous setting) and how to put it
    back; None where this NumPy has no such switch."""
    try:
        from numpy._core import multiarray
    except ImportError:  # pragma: no cover - NumPy 1.x keeps it in numpy.core
        return None
    switch = getattr(multiarray, "_set_madvise_hugepage", None)
    if not callable(switch):
        return None
    before = bool(switch(False))
    return lambda: switch(before)


def _system_pool() -> Callable[[], object]:
    """The C allocator as Arrow's default pool, and how to put the previous default back."""
    import pyarrow as pa

    before = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    return lambda: pa.set_memory_pool(before)


_PAGES = _Override("NUMPY_MADVISE_HUGEPAGE", _pages_off)
_POOL = _Override("ARROW_DEFAULT_MEMORY_POOL", _system_pool)


def small_pages() -> AbstractContextManager[None]:
    """NumPy's arrays on ordinary pages inside the ``with`` block (see the module's documentation).

    Examples
    --------
    >>> import numpy as np
    >>> with small_pages():
    ...     int(np.ones(1_000_000).sum())
    1000000
    """
    return _PAGES.scope()


def arrow_system_pool() -> AbstractContextManager[None]:
    """Arrow's allocations inside the ``with`` block from the C allocator (``pyarrow.system_memory_pool()``)
    instead of Arrow's default pool; the default is restored on exit (nested and concurrent calls share one
    switch; each buffer is freed by the pool that made it, whatever the default is by then).

    Used around the Parquet read: its decoded columns are freed once converted, and the C allocator hands that
    memory to the NumPy arrays the build makes next, where memory freed to Arrow's own pool stays there and
    the build touches fresh pages. The 10M-event Parquet ``read_log``: 2.05-2.08 s against 2.13-2.37 s, peak
    1.33-1.36 GB against 1.60-1.63 GB (four pairs). Not used for CSV, whose parse already takes the C
    allocator's pool explicitly: there the rest was slower with it (10M 4.3-4.7 s against 3.4-4.3 s). Where
    the user chose a pool (``ARROW_DEFAULT_MEMORY_POOL``), nothing is changed.

    Examples
    --------
    >>> import pyarrow as pa
    >>> with arrow_system_pool():
    ...     len(pa.array(range(3)))
    3
    """
    return _POOL.scope()


def with_small_pages(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn`` run inside :func:`small_pages`."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with small_pages():
            return fn(*args, **kwargs)

    return wrapper
