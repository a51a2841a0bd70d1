"""Time flowopt's XES reading (both engines) against rustxes and pm4py's own reader, side by side.

Run from the project root::

    .venv/bin/python benchmarks/bench_xes.py [--repeats 3] [--data ../shared/data] [FILE ...]

For each file the readers run in turn, repeat after repeat, so drift in machine load hits them alike:

* ``flowopt auto``: ``read_xes_frame(path)``, the byte-scan fast path with all its checks (decompressing,
  scanning the bytes, slicing the values, the typed columns);
* ``flowopt expat``: ``read_xes_frame(path, engine="expat")``, the streaming expat reader;
* ``rustxes``: ``rustxes.import_xes(path)`` alone (the Rust importer pm4py delegates to; a polars frame,
  dates parsed, no checks), the anchor the ratios are given against; skipped when not installed
  (``pip install rustxes``; flowopt itself does not need it);
* ``pm4py``: ``pm4py.read_xes(path, variant="iterparse")``, pm4py's own reader (without a variant it
  delegates to rustxes when installed), with ``show_progress_bar=False``; its time includes parsing dates;
  skipped when pm4py is not installed.

The script prints every run, the medians and the ratios to rustxes, and checks that both flowopt engines
returned the same frame and that the auto engine took the fast path.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from flowopt.io._xes import read_xes_frame
from flowopt.io._xes_scan import read_xes_scan

FILES = ("bpic2012.xes.gz", "DomesticDeclarations.xes.gz")


def _time(fn: Callable[[str], Any], path: str) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn(path)
    return time.perf_counter() - start, result


def _readers() -> dict[str, Callable[[str], Any]]:
    readers: dict[str, Callable[[str], Any]] = {
        "flowopt auto": read_xes_frame,
        "flowopt expat": lambda p: read_xes_frame(p, engine="expat"),
    }
    try:
        import rustxes
    except ImportError:
        print("rustxes is not installed: no rustxes timings and no ratios (pip install rustxes)")
    else:
        readers["rustxes"] = rustxes.import_xes
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pm4py  # prints a banner on import; imported once, before any timing
    except ImportError:
        print("pm4py is not installed: no pm4py timings")
        return readers

    def pm4py_iterparse(path: str) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pm4py.read_xes(path, variant="iterparse", show_progress_bar=False)

    readers["pm4py"] = pm4py_iterparse
    return readers


def bench(path: Path, repeats: int, readers: dict[str, Callable[[str], Any]]) -> None:
    runs: dict[str, list[float]] = {name: [] for name in readers}
    results: dict[str, Any] = {}
    for _ in range(repeats):
        for name, fn in readers.items():
            seconds, results[name] = _time(fn, str(path))
            runs[name].append(seconds)
    pd.testing.assert_frame_equal(results["flowopt auto"], results["flowopt expat"])
    fast = read_xes_scan(path) is not None
    rows = len(results["flowopt expat"])
    print(f"{path.name}: {rows:,} events; auto engine took the scan fast path: {'yes' if fast else 'no'}")
    base = statistics.median(runs["rustxes"]) if "rustxes" in runs else None
    for name, times in runs.items():
        median = statistics.median(times)
        ratio = f"{median / base:5.2f}x rustxes" if base else ""
        shown = " ".join(f"{t:.2f}" for t in times)
        print(f"  {name:14} {shown:24} median {median:6.2f} s  {ratio}")


def main() -> None:
    default_data = Path(__file__).resolve().parents[2] / "shared" / "data"
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", type=Path, default=default_data)
    parser.add_argument("files", nargs="*", default=list(FILES))
    args = parser.parse_args()
    readers = _readers()
    for name in args.files:
        bench(args.data / name, args.repeats, readers)


if __name__ == "__main__":
    main()
