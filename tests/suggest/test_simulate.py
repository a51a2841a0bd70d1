"""The SimPy pool simulation: exact on tiny queues, fitted to a generated log, monotone in capacity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import flowopt
from flowopt.datasets import generate_lending_log
from flowopt.datasets._queues import fifo_pool
from flowopt.errors import ParameterError
from flowopt.suggest._simulate import _ready_estimate, fifo_simpy, simulate_capacity


def test_fifo_simpy_matches_the_closed_form_queue() -> None:
    rng = np.random.default_rng(3)
    arrive = np.sort(rng.uniform(0, 1000, 300))
    service = rng.exponential(9.0, 300)
    for servers in (1, 3):
        start, _, _ = fifo_pool(arrive, service, servers)
        # one shared queue is never slower than round-robin servers; with one server they are identical
        sim = fifo_simpy(arrive, service, servers)
        assert (sim >= arrive - 1e-9).all()
        if servers == 1:
            assert np.allclose(sim, start)
        else:
            assert (sim - arrive).mean() <= (start - arrive).mean() + 1e-9


def test_ready_estimate_moves_ready_up_to_the_last_idle_moment() -> None:
    # one server busy [0, 10) and [10, 20); the second job was ready at 0 -> waited for the server
    ready = np.array([0.0, 0.0, 0.0])
    start = np.array([0.0, 10.0, 40.0])
    end = np.array([10.0, 20.0, 45.0])
    est = _ready_estimate(ready, start, end, 1)
    # job 3 started at 40 though the server was idle from 20: it was not ready before 40
    assert est.tolist() == [0.0, 0.0, 40.0]


@pytest.fixture(scope="module")
def understaffed() -> tuple[flowopt.EventLog, int]:
    g = generate_lending_log(500, seed=4, problems=["understaffed"])
    return flowopt.read_log(g.frame, g.config), int(g.truth["pools"]["Document check"]["servers"])


def test_simulation_is_fitted_to_the_log(understaffed: tuple[flowopt.EventLog, int]) -> None:
    log, servers = understaffed
    sim = simulate_capacity(log, "Document check", extra_servers=1, replications=2)
    assert sim.servers_before == servers
    # the fitted "before" run reproduces the real queue (mean wait within 25%)
    assert sim.wait_sim_before_mean_h == pytest.approx(sim.wait_real_mean_h, rel=0.25)
    assert sim.wait_sim_after_mean_h < sim.wait_sim_before_mean_h
    s = sim.saving()
    assert s.method == "simulation+replay" and s.hours_per_case > 0
    assert s.hours_per_case_low <= s.hours_per_case <= s.hours_per_case_high
    assert len(sim.per_replication_h) == 2


def test_more_capacity_saves_more_and_is_deterministic(understaffed: tuple[flowopt.EventLog, int]) -> None:
    log, _ = understaffed
    one = simulate_capacity(log, "Document check", extra_servers=1, replications=2).saving().hours_per_case
    two = simulate_capacity(log, "Document check", extra_servers=2, replications=2).saving().hours_per_case
    again = simulate_capacity(log, "Document check", extra_servers=2, replications=2).saving().hours_per_case
    assert 0 < one < two
    assert two == again


def test_default_capacity_targets_a_utilisation(understaffed: tuple[flowopt.EventLog, int]) -> None:
    log, _ = understaffed
    sim = simulate_capacity(log, "Document check", target_utilisation=0.7, replications=1, max_jobs=300)
    assert sim.utilisation_after <= 0.7 < sim.utilisation_before
    assert 300 <= sim.jobs <= 450  # the window plus the jobs still queued when it opened


def test_errors_name_the_parameter(understaffed: tuple[flowopt.EventLog, int]) -> None:
    log, _ = understaffed
    with pytest.raises(ParameterError, match="replications"):
        simulate_capacity(log, "Document check", replications=0)
    with pytest.raises(ParameterError, match="extra_servers"):
        simulate_capacity(log, "Document check", extra_servers=0)
    frame = pd.DataFrame({"case": ["a", "b"], "activity": ["X", "X"],
                          "time": pd.to_datetime(["2024-01-01", "2024-01-02"], utc=True)})
    bare = flowopt.read_log(frame, {"columns": {"case": "case", "activity": "activity", "timestamp": "time"}})
    with pytest.raises(ParameterError, match="no resources"):
        simulate_capacity(bare, "X")
