"""What the detectors, the suggestions (counterfactual replay) and the capacity simulation cost.

    .venv/bin/python benchmarks/bench_suggest.py [--cases 90000]   # ~1M events with every problem injected

Times each step once in this process (the log is generated and read first, untimed) and prints a table.
The simulation is bounded (at most 5,000 jobs plus the queue at the window's start, 3 replications), so its
cost does not grow with the log; the replay is vectorised per position in a case, so it grows linearly.
"""

from __future__ import annotations

import argparse
import resource
import time

import flowopt
from flowopt.analysis import DETECTORS, Findings
from flowopt.datasets import PROBLEMS, generate_lending_log
from flowopt.suggest import simulate_capacity, suggest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", type=int, default=90_000)
    args = ap.parse_args()
    g = generate_lending_log(args.cases, seed=1, problems=PROBLEMS)
    log = flowopt.read_log(g.frame, g.config)
    graph = flowopt.discover_graph(log)
    rows: list[tuple[str, float, str]] = []
    found = []
    for name in sorted(DETECTORS):
        t = time.perf_counter()
        out = DETECTORS[name](log, graph, log.config)
        rows.append((f"detector {name}", time.perf_counter() - t, f"{len(out)} findings"))
        found.extend(out)
    findings = Findings(found)
    t = time.perf_counter()
    sugg = suggest(log, findings, graph, log.config)
    rows.append(("suggest (replay of every case + simulation)", time.perf_counter() - t, f"{len(sugg)} suggestions"))
    t = time.perf_counter()
    sim = simulate_capacity(log, "Document check")
    rows.append(("simulate_capacity('Document check') alone", time.perf_counter() - t,
                 f"{sim.jobs:,} jobs, {sim.replications} replications"))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{len(log):,} events, {log.n_cases:,} cases; peak RSS {peak:,.0f} MB")
    print(f"{'step':<48} {'seconds':>8}  result")
    for name, s, what in rows:
        print(f"{name:<48} {s:8.2f}  {what}")
    total = sum(s for n, s, _ in rows if n.startswith("detector"))
    print(f"{'all detectors':<48} {total:8.2f}")


if __name__ == "__main__":
    main()
