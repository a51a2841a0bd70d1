"""Time flowopt's ``read_xes_frame`` against ``pm4py.read_xes`` (and the Rust ``rustxes`` reader when installed).

Run from the project root::

    .venv/bin/python benchmarks/bench_xes.py [--repeats 3] [--data ../shared/data]

Each file is read by the readers in turn (flowopt, pm4py, rustxes, flowopt, ...), so drift
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
    try:
        import rustxes  # the Rust-based importer issue 8 names as the anchor (pip install rustxes)
    except ImportError:
        rustxes = None

    print(f"{'file':30} {'reader':8} {'runs (s)':28} {'median':>8}")
    for name in FILES:
        path = str(args.data / name)
        ours: list[float] = []
        theirs: list[float] = []
        rust: list[float] = []
        for _ in range(args.repeats):
            t, frame = _time(read_xes_frame, path)
            ours.append(t)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                # pm4py delegates to rustxes when it is installed: ask for its own (iterparse) reader here
                t, other = _time(lambda p: pm4py.read_xes(p, variant="iterparse", show_progress_bar=False), path)
            theirs.append(t)
            if rustxes is not None:
                t, rs = _time(rustxes.import_xes, path)
                rust.append(t)
                assert rs[0].shape[0] == len(frame), (rs[0].shape, len(frame))
        assert len(frame) == len(other), (len(frame), len(other))
        for label, runs in (("flowopt", ours), ("pm4py", theirs), ("rustxes", rust)):
            if not runs:
                continue
            shown = " ".join(f"{r:.2f}" for r in runs)
            print(f"{name:30} {label:8} {shown:28} {statistics.median(runs):8.2f}")
        ratio = statistics.median(theirs) / statistics.median(ours)
        extra = f", flowopt/rustxes = {statistics.median(ours) / statistics.median(rust):.1f}x" if rust else ""
        print(f"{name:30} rows={len(frame):,}  pm4py/flowopt = {ratio:.1f}x{extra}")


if __name__ == "__main__":
    main()
