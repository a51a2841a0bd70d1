from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats as sst

from flowopt.analysis._stats import (
    bootstrap_median_ci,
    clopper_pearson_interval,
    kruskal_wallis,
    mann_kendall,
    severity,
    wilson_interval,
)
from flowopt.errors import ParameterError


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_intervals_contain_point_estimate(kn: tuple[int, int]) -> None:
    k, n = kn
    for fn in (wilson_interval, clopper_pearson_interval):
        lo, hi = fn(k, n)
        if n == 0:
            assert np.isnan(lo) and np.isnan(hi)
        else:
            assert 0.0 <= lo <= k / n + 1e-12 <= hi + 2e-12 <= 1.0 + 2e-12


def test_clopper_pearson_matches_scipy() -> None:
    ks = np.array([0, 3, 17, 40])
    lo, hi = clopper_pearson_interval(ks, 40)
    for k, l, h in zip(ks, lo, hi):
        ref = sst.binomtest(int(k), 40).proportion_ci(confidence_level=0.95, method="exact")
        assert l == pytest.approx(ref.low, abs=1e-9) and h == pytest.approx(ref.high, abs=1e-9)


def test_wilson_matches_scipy() -> None:
    ref = sst.binomtest(7, 60).proportion_ci(confidence_level=0.95, method="wilson")
    lo, hi = wilson_interval(7, 60)
    assert float(lo) == pytest.approx(ref.low, abs=1e-9) and float(hi) == pytest.approx(ref.high, abs=1e-9)


def test_upper_bound_shrinks_with_support() -> None:
    _, hi40 = clopper_pearson_interval(0, 40)
    _, hi600 = clopper_pearson_interval(0, 600)
    assert hi40 > 0.08
    assert hi600 < 0.01


def test_bad_counts_raise() -> None:
    with pytest.raises(ParameterError, match="successes"):
        wilson_interval(5, 3)
    with pytest.raises(ParameterError, match="confidence"):
        clopper_pearson_interval(1, 3, confidence=1.5)


def test_bootstrap_ci_covers_median_and_is_deterministic() -> None:
    x = np.random.default_rng(1).exponential(10.0, 400)
    lo, hi = bootstrap_median_ci(x, seed=3)
    assert lo < np.median(x) < hi
    assert (lo, hi) == bootstrap_median_ci(x, seed=3)
    assert np.isnan(bootstrap_median_ci(np.array([]))[0])


def test_mann_kendall_trends() -> None:
    rng = np.random.default_rng(0)
    up = np.arange(30.0) + rng.normal(0, 2, 30)
    assert mann_kendall(up).trend == "increasing"
    assert mann_kendall(-up).trend == "decreasing"
    flat = rng.normal(0, 1, 30)
    assert mann_kendall(flat).trend == "none"
    assert mann_kendall(np.ones(10)).trend == "none"  # all ties
    r = mann_kendall(2.0 * np.arange(10.0))
    assert r.slope == pytest.approx(2.0) and r.tau == pytest.approx(1.0)


def test_severity_needs_support_for_high() -> None:
    assert severity(0.9, 0.99, 50, min_support=30) in ("low", None)
    assert severity(0.9, 0.99, 70, min_support=30) == "medium"
    assert severity(0.9, 0.99, 500, min_support=30) == "high"
    assert severity(0.9, 0.5, 5000) != "high"
    assert severity(0.9, 0.99, 29, min_support=30) is None
    assert severity(float("nan"), 0.99, 500) is None
    with pytest.raises(ParameterError):
        severity(0.5, 0.9, 100, min_support=0)


def _assert_kruskal_equal(ours: tuple[float, float], scipy_: tuple[float, float]) -> None:
    """Bit for bit against a SciPy that computes the tie correction as kruskal_wallis does (its array-API
    implementation); within 1e-12 against older releases, which summed it differently."""
    import inspect

    try:
        same_method = "return_ties=True" in inspect.getsource(sst.kruskal)
    except (OSError, TypeError):
        same_method = False
    if same_method:  # NaN (a p-value of an H that rounding made slightly negative) equals NaN here
        assert np.array_equal(np.array(ours), np.array(scipy_), equal_nan=True), (ours, scipy_)
    else:
        assert ours == pytest.approx(scipy_, rel=1e-12, abs=1e-300, nan_ok=True)


@settings(max_examples=150, deadline=None)
@given(data=st.data(), k=st.integers(2, 5), discrete=st.booleans())
def test_kruskal_wallis_is_scipy_float_for_float(data: st.DataObject, k: int, discrete: bool) -> None:
    """The detectors' Kruskal–Wallis gives SciPy's exact floats, with ties (durations in whole minutes) or without."""
    values = st.integers(0, 12).map(float) if discrete else st.floats(0, 1e6, allow_nan=False, allow_infinity=False)
    samples = [np.array(data.draw(st.lists(values, min_size=1, max_size=40))) for _ in range(k)]
    pooled = np.concatenate(samples)
    assume(pooled.min() < pooled.max())
    h, p = kruskal_wallis(samples)
    ref = sst.kruskal(*samples)
    _assert_kruskal_equal((h, p), (float(ref.statistic), float(ref.pvalue)))


def test_kruskal_wallis_equal_samples_give_scipys_nan() -> None:
    """Two identical samples: rounding leaves H a hair below zero and both give a NaN p-value (found by
    Hypothesis; the comparison has to treat NaN as equal)."""
    a = np.r_[np.zeros(32), 1.0]
    h, p = kruskal_wallis([a, a.copy()])
    ref = sst.kruskal(a, a.copy())
    assert h < 0 and np.isnan(p)
    _assert_kruskal_equal((h, p), (float(ref.statistic), float(ref.pvalue)))


def test_kruskal_wallis_large_tied_samples_match_scipy() -> None:
    """A tie group of 250,001 values (its t**3 - t is beyond 2**53, so the tie correction rounds and the
    summation order shows) still matches SciPy bit for bit."""
    rng = np.random.default_rng(5)
    pooled = np.concatenate([np.zeros(250_001), np.round(rng.gamma(2.0, 600.0, size=90_000), -1)])
    rng.shuffle(pooled)
    samples = np.array_split(pooled, 4)
    assert float(250_001) ** 3 - 250_001 > 2 ** 53
    h, p = kruskal_wallis(samples)
    ref = sst.kruskal(*samples)
    _assert_kruskal_equal((h, p), (float(ref.statistic), float(ref.pvalue)))
    with pytest.raises(ParameterError):
        kruskal_wallis(samples[:1])


def _resampled_range(x: np.ndarray, n_boot: int, seed: int, confidence: float = 0.9) -> tuple[float, float]:
    """The plain percentile bootstrap of the mean: n_boot resamples of all n values."""
    rng = np.random.default_rng(seed)
    means = np.array([x[rng.integers(0, x.shape[0], x.shape[0])].mean() for _ in range(n_boot)])
    a = (1.0 - confidence) / 2.0
    return float(np.quantile(means, a)), float(np.quantile(means, 1.0 - a))


@pytest.mark.parametrize("kind", ["lognormal", "pareto", "mixed_signs", "few_moved"])
def test_bootstrap_mean_range_is_the_bootstrap_distribution(kind: str) -> None:
    """From 1,000 non-zero values the range is analytic (Cornish-Fisher): it must sit where a plain
    bootstrap with many resamples puts it, closer than the 200-resample estimate used below 1,000."""
    from flowopt.analysis._stats import bootstrap_mean_range

    rng = np.random.default_rng(11)
    n = 6_000
    x = {"lognormal": np.where(rng.random(n) < 0.3, rng.lognormal(1.0, 1.5, n), 0.0),
         "pareto": np.where(rng.random(n) < 0.4, rng.pareto(2.5, n) * 10.0, 0.0),
         "mixed_signs": np.where(rng.random(n) < 0.5, rng.normal(-1.0, 3.0, n), 0.0),
         "few_moved": np.where(rng.random(n) < 0.2, rng.lognormal(0.0, 1.0, n), 0.0)}[kind]
    assert (x != 0).sum() >= 1_000
    se = x.std() / np.sqrt(n)
    ref = _resampled_range(x, 4_000, seed=3)  # Monte-Carlo error of its ends ~0.03 standard errors
    got = bootstrap_mean_range(x)
    assert got[0] < x.mean() < got[1]
    assert abs(got[0] - ref[0]) < 0.1 * se and abs(got[1] - ref[1]) < 0.1 * se, (got, ref, se)


def test_bootstrap_mean_range_resamples_few_changed_values_and_handles_edges() -> None:
    from flowopt.analysis._stats import bootstrap_mean_range

    x = np.zeros(50_000)
    x[:40] = np.linspace(1.0, 100.0, 40)  # 40 changed cases: lumpy, resampled (deterministic per seed)
    a, b = bootstrap_mean_range(x, seed=1), bootstrap_mean_range(x, seed=1)
    assert a == b and a[0] < x.mean() < a[1]
    assert bootstrap_mean_range(x, seed=2) != a
    assert bootstrap_mean_range(x, n_boot=0) == (x.mean(), x.mean())
    assert bootstrap_mean_range(np.zeros(10)) == (0.0, 0.0)
    assert bootstrap_mean_range(np.full(5_000, 2.5)) == (2.5, 2.5)  # no spread: the mean itself
    assert all(np.isnan(bootstrap_mean_range(np.zeros(0))))
    with pytest.raises(ParameterError):
        bootstrap_mean_range(x, confidence=1.5)
