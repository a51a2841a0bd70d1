"""Validation of the estimator against the truth: the generator makes the same flow with and without a change
(common random numbers), so the saving measured between the two logs is the true effect of the change.

Each estimate is made from the "before" log alone, exactly as :func:`flowopt.suggest.suggest` makes it,
and must land within ±25% of the true mean throughput hours saved per case, for every heuristic the
generator supports and several seeds.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

import flowopt
from flowopt.datasets import generate_lending_log
from flowopt.log import EventLog
from flowopt.suggest import replay_parallel, replay_release, replay_remove, simulate_capacity
from flowopt.suggest._replay import case_arrays
from flowopt.suggest._suggest import _rework_rows

TOLERANCE = 0.25
SEEDS = (1, 2, 3)
N_CASES = 600
LOOP = ("Document check", "Request missing documents", "Document check")


def _eliminate(log: EventLog, truth: dict) -> float:
    return replay_remove(log, ["Regional director approval"]).saving().hours_per_case


def _parallel(log: EventLog, truth: dict) -> float:
    return replay_parallel(log, ["Credit risk approval", "Compliance approval"]).saving().hours_per_case


def _daily(log: EventLog, truth: dict) -> float:
    return replay_release(log, "Disbursement", source="Contract signing", schedule="daily").saving().hours_per_case


def _immediate(log: EventLog, truth: dict) -> float:
    return replay_release(log, "Disbursement", source="Contract signing",
                          schedule="immediate").saving().hours_per_case


def _capacity(log: EventLog, truth: dict) -> float:
    servers = int(truth["pools"]["Document check"]["servers"])  # the generator's change doubles the pool
    return simulate_capacity(log, "Document check", extra_servers=servers).saving().hours_per_case


def _first_time_right(log: EventLog, truth: dict) -> float:
    rows = _rework_rows(log, LOOP, case_arrays(log))
    return replay_remove(log, LOOP, rows=rows).saving().hours_per_case


CASES: dict[str, tuple[str, str, Callable[[EventLog, dict], float]]] = {
    "task_elimination": ("rubber_stamp", "eliminate_rubber_stamp", _eliminate),
    "parallelism": ("sequential_signoffs", "parallelize_signoffs", _parallel),
    "batch_frequency_daily": ("batching", "batch_daily", _daily),
    "batch_frequency_immediate": ("batching", "no_batching", _immediate),
    "capacity": ("understaffed", "add_capacity", _capacity),
    "contact_reduction_first_time_right": ("rework", "remove_rework", _first_time_right),
}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("heuristic", sorted(CASES))
def test_estimate_within_25_percent_of_true_saving(heuristic: str, seed: int) -> None:
    problem, change, estimator = CASES[heuristic]
    g = generate_lending_log(N_CASES, seed=seed, problems=(problem,))
    true = g.true_saving_hours_per_case(change)
    est = estimator(flowopt.read_log(g.frame, g.config), g.truth)
    assert true > 0.2  # the change matters at all in this flow
    assert est == pytest.approx(true, rel=TOLERANCE), f"{heuristic} seed {seed}: estimate {est:.2f} h, true {true:.2f} h"
