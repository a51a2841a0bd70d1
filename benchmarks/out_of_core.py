"""Out-of-core run: the process graph of a 50M-event log stored as Parquet, with DuckDB in bounded memory.

    .venv/bin/python benchmarks/out_of_core.py [--events 50000000] [--memory-limit 3GB]

Generates the log in chunks with flowopt's generator (cached under benchmarks/.cache/), so no step ever
holds the whole log in memory, then runs ``flowopt.discovery.discover_graph_parquet`` in a child process
and reports wall time and the child's peak resident memory. The embedded engine on the same machine
would need the whole log in memory (about 60 bytes per event before the analysis).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

CACHE = Path(__file__).parent / ".cache"
CHUNK_CASES = 400_000  # ~4.2M events per chunk


def generate(n_events: int) -> tuple[Path, int]:
    from flowopt.datasets import generate_lending_log

    folder = CACHE / f"ooc_{n_events // 1_000_000}M"
    done = folder / "_done.json"
    if done.exists():
        return folder, json.loads(done.read_text())["events"]
    folder.mkdir(parents=True, exist_ok=True)
    total, k, order0 = 0, 0, 0
    while total < n_events:
        g = generate_lending_log(CHUNK_CASES, seed=1000 + k, problems=("batching", "rework", "understaffed"))
        df = g.frame[["case_id", "activity", "start", "end"]].copy()
        df["case_id"] = f"k{k:03d}-" + df["case_id"].astype(str)
        df["activity"] = df["activity"].astype(str)
        df = df.iloc[: max(0, n_events - total)] if total + len(df) > n_events else df
        df["order"] = np.arange(order0, order0 + len(df), dtype=np.int64)
        df.to_parquet(folder / f"part-{k:03d}.parquet", index=False)
        total += len(df)
        order0 += len(df)
        k += 1
        print(f"  generated chunk {k}: {total:,} events", file=sys.stderr)
    done.write_text(json.dumps({"events": total, "chunks": k}))
    return folder, total


_CHILD = """
import json, sys, time
from flowopt.discovery import discover_graph_parquet
t = time.perf_counter()
g = discover_graph_parquet(sys.argv[1], memory_limit=sys.argv[2], threads=int(sys.argv[3]), temp_directory=sys.argv[4])
print(json.dumps({"seconds": time.perf_counter() - t, "edges": len(g.edges), "cases": g.n_cases, "events": g.n_events}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=50_000_000)
    ap.add_argument("--memory-limit", default="3GB")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    t0 = time.perf_counter()
    folder, events = generate(args.events)
    size = sum(p.stat().st_size for p in folder.glob("*.parquet"))
    print(f"log: {events:,} events in {len(list(folder.glob('*.parquet')))} Parquet files, {size / 1e9:.2f} GB "
          f"(generation {time.perf_counter() - t0:.0f} s, cached)")
    spill = CACHE / "duckdb_spill"
    spill.mkdir(parents=True, exist_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(folder / "*.parquet"), args.memory_limit,
                           str(args.threads), str(spill)], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        sys.exit(proc.stderr)
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"discover_graph_parquet: {res['seconds']:.1f} s, {res['events']:,} events, {res['cases']:,} cases, "
          f"{res['edges']} edges, {res['events'] / res['seconds'] / 1e6:.2f} M events/s; peak RSS "
          f"{max(peak_kb, before) / 1024**2:.2f} GiB with memory_limit={args.memory_limit}, threads={args.threads}")


if __name__ == "__main__":
    main()
