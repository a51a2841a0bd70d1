"""Time flowopt's ``read_xes_frame`` against ``pm4py.read_xes`` on real logs.

Run from the project root::

    .venv/bin/python benchmarks/bench_xes.py [--repeats 3] [--data ../shared/data]

Each file is read by both readers alternately (flowopt, pm4py, flowopt, pm4py, ...), so drift
in machine load hits both alike; the script prints the medians and pm4py / flowopt ratios.
pm4py runs with ``show_progress_bar=False``, so its time is not inflated by the progress bar.
pm4py's time includes its timestamp parsing; flowopt's frame keeps dates as text.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flowopt.io._xes import read_xes_frame

FILES = ("bpic2012.xes.gz", "DomesticDeclarations.xes.gz")


def _time(fn: Callable[[str], Any], path: str) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn(path)
    return time.perf_counter() - start, result


def main() -> None:
    default_data = Path(__file__).resolve().parents[2] / "shared" / "data"
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", type=Path, default=default_data)
    args = parser.parse_args()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pm4py

    print(f"{'file':30} {'reader':8} {'runs (s)':28} {'median':>8}")
    for name in FILES:
        path = str(args.data / name)
        ours: list[float] = []
        theirs: list[float] = []
        for _ in range(args.repeats):
            t, frame = _time(read_xes_frame, path)
            ours.append(t)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                t, other = _time(lambda p: pm4py.read_xes(p, show_progress_bar=False), path)
            theirs.append(t)
        assert len(frame) == len(other), (len(frame), len(other))
        for label, runs in (("flowopt", ours), ("pm4py", theirs)):
            shown = " ".join(f"{r:.2f}" for r in runs)
            print(f"{name:30} {label:8} {shown:28} {statistics.median(runs):8.2f}")
        ratio = statistics.median(theirs) / statistics.median(ours)
        print(f"{name:30} rows={len(frame):,}  pm4py/flowopt = {ratio:.1f}x")


if __name__ == "__main__":
    main()
