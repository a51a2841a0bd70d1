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
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

__all__ = ["arrow_system_pool", "small_pages", "with_small_pages"]

P = ParamSpec("P")
R = TypeVar("R")

_lock = threading.Lock()
_depth = 0
_saved = True


def _switch() -> Callable[[bool], bool] | None:
    """NumPy's huge-page switch (it returns the previous setting), or None to leave things as they are."""
    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:  # the user's own choice
        return None
    try:
        from numpy._core import multiarray
    except ImportError:  # pragma: no cover - NumPy 1.x keeps it in numpy.core
        return None
    switch = getattr(multiarray, "_set_madvise_hugepage", None)
    return switch if callable(switch) else None


@contextmanager
def small_pages() -> Iterator[None]:
    """NumPy's arrays on ordinary pages inside the ``with`` block (see the module's documentation).

    Examples
    --------
    >>> import numpy as np
    >>> with small_pages():
    ...     int(np.ones(1_000_000).sum())
    1000000
    """
    global _depth, _saved
    switch = _switch()
    if switch is None:
        yield
        return
    with _lock:
        if _depth == 0:
            _saved = bool(switch(False))
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                switch(_saved)


_pool_lock = threading.Lock()
_pool_depth = 0
_pool_saved: object = None


@contextmanager
def arrow_system_pool() -> Iterator[None]:
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
    global _pool_depth, _pool_saved
    if "ARROW_DEFAULT_MEMORY_POOL" in os.environ:
        yield
        return
    import pyarrow as pa

    with _pool_lock:
        if _pool_depth == 0:
            _pool_saved = pa.default_memory_pool()
            pa.set_memory_pool(pa.system_memory_pool())
        _pool_depth += 1
    try:
        yield
    finally:
        with _pool_lock:
            _pool_depth -= 1
            if _pool_depth == 0:
                pa.set_memory_pool(_pool_saved)


def with_small_pages(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn`` run inside :func:`small_pages`."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with small_pages():
            return fn(*args, **kwargs)

    return wrapper
