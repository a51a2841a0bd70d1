"""flowopt's compiled loops: the ``flowopt._loops`` extension, built from Cython source when flowopt is installed.

A few kernels cannot be written as whole-array NumPy operations (the contention sweep of the wait-cause split,
the replay's case-by-case re-timing, the capacity simulation's queue) or run several times faster as one pass
(working time on a calendar). Each has a NumPy (or plain Python) version, which is the reference, and a
compiled loop in ``flowopt._loops`` that gives the same numbers much faster and without holding the GIL. The extension
is optional at install time; :func:`loops` returns it, or ``None`` where it was not built (then the NumPy
versions run; ``flowopt --version`` says which is in use).

Examples
--------
>>> available() in (True, False)
True
"""

from __future__ import annotations

import functools
from types import ModuleType

__all__ = ["available", "loops"]


@functools.cache
def loops() -> ModuleType | None:
    """The compiled extension module, or ``None`` when this install has none (the NumPy versions are used)."""
    try:
        from flowopt import _loops
    except ImportError:
        return None
    return _loops


def available() -> bool:
    """Whether the compiled loops are in use here."""
    return loops() is not None
