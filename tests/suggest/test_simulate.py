"""The pool simulation: the FIFO recursion equals a SimPy run, fitted to a generated log, monotone in capacity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

import flowopt
from flowopt.datasets import generate_lending_log
from flowopt.datasets._queues import fifo_pool
from flowopt.errors import ParameterError
from flowopt.suggest._simulate import _ready_estimate, fifo_starts, simulate_capacity


def fifo_simpy(arrival: np.ndarray, service: np.ndarray, servers: int) -> np.ndarray:
    """The reference: the same queue as a SimPy discrete-event run (one process per job, a shared
    ``Resource``), on the clock shifted to the first arrival as ``fifo_starts`` keeps it."""
    env = simpy.Environment()
    pool = simpy.Resource(env, capacity=max(1, int(servers)))
    start = np.empty(arrival.shape[0])
    order = np.argsort(arrival, kind="stable")

    def job(k: int, a: float, s: float):  # type: ignore[no-untyped-def]
        yield env.timeout(a)
        with pool.request() as req:
            yield req
            start[k] = env.now
            yield env.timeout(s)

    t0 = float(arrival[order[0]]) if arrival.shape[0] else 0.0
    for k in order:
        env.process(job(int(k), float(arrival[k] - t0), float(service[k])))
    env.run()
    return start + t0


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 4), st.lists(st.tuples(st.integers(0, 40), st.integers(0, 12)), min_size=1, max_size=60),
       st.sampled_from([1.0, 0.25, 3600.0, 0.1]), st.floats(-1e6, 1e9))
def test_fifo_recursion_equals_a_simpy_run_float_for_float(servers: int, jobs: list[tuple[int, int]],
                                                            unit: float, shift: float) -> None:
    # small integer grids force ties (equal arrivals, a server freeing as a job arrives); scaled and shifted
    # so the floats are not all exact
    arrive = np.array([a for a, _ in jobs], dtype=np.float64) * unit + shift
    service = np.array([s for _, s in jobs], dtype=np.float64) * unit
    got = fifo_starts(arrive, service, servers)
    ref = fifo_simpy(arrive, service, servers)
    assert got.tolist() == ref.tolist()


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 9), st.lists(st.tuples(st.integers(0, 40), st.integers(0, 12)), min_size=1, max_size=80),
       st.sampled_from([1.0, 0.25, 3600.0, 0.1]), st.floats(-1e6, 1e9))
def test_fifo_compiled_loop_equals_the_python_heap(servers: int, jobs: list[tuple[int, int]], unit: float,
                                                   shift: float) -> None:
    from flowopt.suggest import _simulate as sim

    arrive = np.array([a for a, _ in jobs], dtype=np.float64) * unit + shift
    service = np.array([s for _, s in jobs], dtype=np.float64) * unit
    compiled = fifo_starts(arrive, service, servers)
    old = sim.loops
    sim.loops = lambda: None  # type: ignore[assignment]  # as an install without the compiled loops
    try:
        python = fifo_starts(arrive, service, servers)
    finally:
        sim.loops = old
    assert compiled.tolist() == python.tolist()


def test_fifo_recursion_equals_simpy_on_a_long_random_queue() -> None:
    rng = np.random.default_rng(11)
    arrive = rng.uniform(0, 5e5, 4000) + 1.7e9
    service = rng.exponential(600.0, 4000)
    for servers in (1, 2, 7):
        assert fifo_starts(arrive, service, servers).tolist() == fifo_simpy(arrive, service, servers).tolist()
    assert fifo_starts(np.empty(0), np.empty(0), 3).shape == (0,)


def test_fifo_queue_matches_the_closed_form_queue() -> None:
    rng = np.random.default_rng(3)
    arrive = np.sort(rng.uniform(0, 1000, 300))
    service = rng.exponential(9.0, 300)
    for servers in (1, 3):
        start, _, _ = fifo_pool(arrive, service, servers)
        # one shared queue is never slower than round-robin servers; with one server they are identical
        sim = fifo_starts(arrive, service, servers)
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
