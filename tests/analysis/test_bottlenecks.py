from __future__ import annotations

import numpy as np
import pytest

import flowopt
from flowopt.analysis import DETECTORS
from flowopt.analysis._bottlenecks import find_bottlenecks, queue_trend
from flowopt.datasets._generator import generate_lending_log
from flowopt.options import load_config

DAY = 86_400 * 10**9


@pytest.mark.parametrize(("seed", "language", "shape"),
                         [(3, "en", "interval"), (4, "zh", "lifecycle"), (5, "en", "interval")])
def test_understaffed_step_is_a_bottleneck(seed: int, language: str, shape: str) -> None:
    g = generate_lending_log(700, seed=seed, problems=("understaffed", "batching"), language=language, shape=shape)
    log = flowopt.read_log(g.frame, g.config)
    step = next(i for i in g.injected if i.problem == "understaffed").activities[0]
    found = find_bottlenecks(log)
    assert [f.activities[0] for f in found][:1] == [step]
    ev = found[0].evidence
    assert found[0].kind == "bottleneck" and found[0].category == "design"
    assert ev["wait_before_median_s"] > 10 * ev["service_median_s"]
    assert ev["utilisation"] is not None and ev["utilisation"] >= 0.8
    assert ev["causes_separated"] and ev["causes"]["contention"] > 0
    # the batched disbursement is a hotspot, not a capacity bottleneck
    assert all(f.activities[0] != next(i for i in g.injected if i.problem == "batching").activities[1]
               for f in found)


@pytest.mark.parametrize(("seed", "language"), [(3, "en"), (6, "zh")])
def test_healthy_flow_has_no_bottleneck(seed: int, language: str) -> None:
    g = generate_lending_log(700, seed=seed, language=language)
    assert find_bottlenecks(flowopt.read_log(g.frame, g.config)) == []


def test_small_log_is_never_high() -> None:
    g = generate_lending_log(150, seed=3, problems=("understaffed",))
    found = find_bottlenecks(flowopt.read_log(g.frame, g.config), None, load_config({"analysis": {"min_cases": 10}}))
    assert all(f.severity != "high" for f in found)


def test_queue_trend() -> None:
    en = np.arange(200) * DAY // 2
    assert queue_trend(en, np.arange(200) * DAY * 3 // 4)["trend"] == "increasing"
    rng = np.random.default_rng(0)
    arr = np.sort(rng.uniform(0, 100 * DAY, 400)).astype(np.int64)
    assert queue_trend(arr, arr + DAY // 4)["trend"] == "none"
    # a ramp-up of the whole log is not a growing queue when the queue keeps its share of open cases
    assert queue_trend(en, np.arange(200) * DAY * 3 // 4, en, np.arange(200) * DAY * 3 // 4)["trend"] == "none"


def test_registered() -> None:
    assert DETECTORS["bottleneck"] is find_bottlenecks


def test_utilisation_from_the_wait_tables_resource_order_equals_its_own_sort() -> None:
    """utilisation() slices the wait table's rows by resource instead of sorting them again: the same figure
    for any set of resources (none, one, several, all, repeated)."""
    import dataclasses

    from flowopt.analysis._bottlenecks import utilisation
    from flowopt.analysis._waits import compute_waits

    g = generate_lending_log(600, seed=8, problems=("understaffed",))
    log = flowopt.read_log(g.frame, g.config)
    wt = compute_waits(log)
    assert wt.resource_order is not None
    unsorted = dataclasses.replace(wt, resource_order=None)
    n_res = len(log.frame["resource"].cat.categories)
    rng = np.random.default_rng(0)
    for codes in ([], [0], [n_res - 1, 3, 3], list(range(n_res)),
                  *(sorted(rng.choice(n_res, size=k, replace=False).tolist()) for k in (2, 5, 9))):
        got, want = utilisation(log, wt, np.array(codes, dtype=np.int64)), \
            utilisation(log, unsorted, np.array(codes, dtype=np.int64))
        assert got == want, codes
