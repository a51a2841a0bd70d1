"""Compiled loops for the few kernels that cannot be written as whole-array NumPy operations.

:func:`jit` is :func:`numba.njit` with the settings every flowopt kernel uses: compiled once per machine
and cached on disk (``cache=True``: the first call in a fresh environment compiles for about a second,
later processes load the cached machine code), and run without holding the GIL (``nogil=True``), so a
kernel can overlap other work in another thread. Kernels take and return NumPy arrays only.

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

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba

__all__ = ["jit"]

F = TypeVar("F", bound=Callable[..., Any])


def jit(fn: F) -> F:
    """Compile ``fn`` with Numba in nopython mode, cached on disk, releasing the GIL."""
    return cast(F, numba.njit(cache=True, nogil=True)(fn))
