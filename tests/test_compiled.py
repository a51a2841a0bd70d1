"""flowopt._compiled: the compiled loops are built by the install, and flowopt says whether they are in use."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import flowopt
from flowopt import _compiled
from flowopt.cli import main


def test_the_install_built_the_compiled_loops() -> None:
    # `pip install -e .` (scripts/setup.sh) compiles src/flowopt/_loops.pyx; without it every large log would
    # silently take the slow NumPy path, so the suite insists
    assert _compiled.available(), ("flowopt._loops is not built: reinstall with `pip install -e .` on a machine "
                                   "with a C compiler and the Python headers")
    mod = _compiled.loops()
    assert mod is not None and callable(mod.contention) and callable(mod.retime)


def test_version_says_whether_the_compiled_loops_are_in_use(capsys: pytest.CaptureFixture[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"flowopt {flowopt.__version__} (compiled loops)"
    monkeypatch.setattr(_compiled, "loops", lambda: None)
    assert main(["--version"]) == 0
    assert "no compiled loops" in capsys.readouterr().out


def test_the_analysis_is_the_same_without_the_compiled_loops(monkeypatch: pytest.MonkeyPatch) -> None:
    # the whole document, not only the kernels: an install without a C compiler gives the same answers
    from flowopt.analysis import _waits as waits
    from flowopt.datasets import generate_lending_log
    from flowopt.suggest import _replay as replay

    g = generate_lending_log(300, seed=5, problems=("understaffed", "batching", "rework"))
    with_loops = flowopt.analyze(flowopt.read_log(g.frame, g.config)).to_json()
    monkeypatch.setattr(waits, "loops", lambda: None)
    monkeypatch.setattr(replay, "loops", lambda: None)
    assert flowopt.analyze(flowopt.read_log(g.frame, g.config)).to_json() == with_loops


@settings(max_examples=300, deadline=None)
@given(st.integers(-2_000, 200_000), st.integers(-3, 3), st.floats(-1e12, 1e12, allow_nan=False))
def test_the_loops_floor_division_by_an_hour_is_pythons(k: int, ulps: int, free: float) -> None:
    # the calendar arithmetic's x // 3600 without fmod: exact at hour boundaries and a few ulps around them
    import numpy as np

    mod = _compiled.loops()
    assert mod is not None
    x = float(k) * 3600.0
    for _ in range(abs(ulps)):
        x = float(np.nextafter(x, np.inf if ulps > 0 else -np.inf))
    values = np.array([x, free, x / 7.0, -x], dtype=np.float64)
    out = np.empty(values.shape[0], dtype=np.int64)
    mod.hours_floor(values, out)
    assert out.tolist() == [int(v // 3600.0) for v in values]
