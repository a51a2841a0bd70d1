"""Compiled loops for the few kernels that cannot be written as whole-array NumPy operations.

:func:`jit` is :func:`numba.njit` with the settings every flowopt kernel uses: compiled once per machine and
cached on disk (``cache=True``: the first call in a fresh environment compiles, about ten seconds for the
contention sweep; later processes load the cached machine code), and run without holding the GIL
(``nogil=True``), so a kernel can overlap other work in another thread. Where no cache folder is writable (a
read-only install or container without a writable home), kernels are compiled in memory for each process
instead. Kernels take and return NumPy arrays only, and do not call each other (the name a kernel is bound
to is a plain Python function that compiles it on first use, so ``import flowopt`` does not import Numba).

Examples
--------
>>> import numpy as np
>>> @jit
... def total(x):
...     s = 0
...     for v in x:
...         s += v
...     return s
>>> int(total(np.arange(5)))
10
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

__all__ = ["jit", "jit_available"]

F = TypeVar("F", bound=Callable[..., Any])


def jit_available() -> bool:
    """Whether Numba can be imported here (a platform without its wheels: callers use their array version)."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def jit(fn: F) -> F:
    """``fn`` compiled with Numba in nopython mode (on its first call), cached on disk, releasing the GIL."""
    compiled: Callable[..., Any] | None = None

    @functools.wraps(fn)
    def call(*args: Any) -> Any:
        nonlocal compiled
        if compiled is None:
            import numba

            on_disk = fn.__code__.co_filename.endswith(".py")  # code typed at a prompt cannot be cached
            try:
                compiled = numba.njit(cache=on_disk, nogil=True)(fn)
                return compiled(*args)
            except RuntimeError as exc:  # no writable cache folder (a read-only install or container)
                if "cannot cache" not in str(exc):
                    raise
                compiled = numba.njit(cache=False, nogil=True)(fn)
        return compiled(*args)

    return cast(F, call)
