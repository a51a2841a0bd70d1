"""flowopt._jit: compiled on first call, and still compiled when no cache folder can be written."""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import pytest

from flowopt._jit import jit, jit_available


def _total(x: np.ndarray) -> int:
    s = 0
    for v in x:
        s += v
    return s


def test_compiles_on_first_call_with_the_disk_cache() -> None:
    assert jit_available()
    assert int(jit(_total)(np.arange(10))) == 45


def test_falls_back_to_an_in_memory_compile_when_the_cache_cannot_be_written(monkeypatch: pytest.MonkeyPatch) -> None:
    # what Numba raises in a read-only install or container: "cannot cache function ...: no locator available"
    real = numba.njit
    asked: list[bool] = []

    def njit(**options: Any) -> Any:
        asked.append(bool(options.get("cache")))
        if options.get("cache"):
            def refuse(fn: Any) -> Any:
                def call(*args: Any) -> Any:
                    raise RuntimeError(f"cannot cache function {fn.__name__!r}: no locator available for file")
                return call
            return refuse
        return real(**options)

    monkeypatch.setattr(numba, "njit", njit)
    assert int(jit(_total)(np.arange(10))) == 45
    assert asked == [True, False]


def test_other_errors_are_not_swallowed(monkeypatch: pytest.MonkeyPatch) -> None:
    def njit(**options: Any) -> Any:
        def refuse(fn: Any) -> Any:
            def call(*args: Any) -> Any:
                raise RuntimeError("something else went wrong")
            return call
        return refuse

    monkeypatch.setattr(numba, "njit", njit)
    with pytest.raises(RuntimeError, match="something else"):
        jit(_total)(np.arange(3))
