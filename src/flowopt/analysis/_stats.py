"""Shared statistics for the detectors: proportion bounds, a bootstrap CI, a trend test, severity.

Every detector judges a finding by three things: how big the effect is, how sure we are of it, and
how many cases stand behind it. This module holds the small, tested pieces for that:

- :func:`wilson_interval` and :func:`clopper_pearson_interval` — bounds on a rate (vectorised).
- :func:`bootstrap_mean_range` — the percentile range of the bootstrap distribution of a mean (the
  suggestions' saving per case): resampled when few values are non-zero, else from the distribution's
  Cornish–Fisher expansion (exact moments, one pass, closer to the exact bootstrap than 200 resamples).
- :func:`bootstrap_median_ci` — a percentile bootstrap confidence interval of a median, and
  :func:`median_ci`, the distribution-free order-statistic interval (no resampling: what the
  detectors use on large logs).
- :func:`mann_kendall` — a trend test on a series (e.g. work in progress week by week) with the
  Theil–Sen slope as the effect size.
- :func:`kruskal_wallis` — SciPy's Kruskal–Wallis H test, the same floats, without its generic array
  machinery (one sort; the detectors call it per activity and level).
- :func:`severity` — ``"high"``/``"medium"``/``"low"`` (or ``None``: not worth reporting) from an
  effect size in [0, 1], a confidence in [0, 1] and the support (cases); never ``"high"`` on a
  handful of cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import special as _special
from scipy import stats as _st

from flowopt.errors import ParameterError

__all__ = ["TrendResult", "bootstrap_mean_range", "bootstrap_median_ci", "clopper_pearson_interval", "kruskal_wallis",
           "mann_kendall", "median_ci", "severity", "wilson_interval"]

Severity = Literal["high", "medium", "low"]


def _check_counts(successes: np.ndarray, n: np.ndarray, fn: str) -> None:
    if np.any(n < 0) or np.any(successes < 0) or np.any(successes > n):
        raise ParameterError(f"The 'successes' and 'n' parameters of {fn} must satisfy 0 <= successes <= n. "
                             f"Got successes={successes!r}, n={n!r} instead.")


def _check_conf(confidence: float, fn: str) -> None:
    if not 0.0 < confidence < 1.0:
        raise ParameterError(f"The 'confidence' parameter of {fn} must be a float in (0, 1). Got {confidence!r} instead.")


def wilson_interval(successes: np.ndarray | int, n: np.ndarray | int,
                    confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided Wilson score interval of a proportion (vectorised).

    Returns ``(lower, upper)`` arrays (NaN where ``n == 0``).

    Examples
    --------
    >>> lo, hi = wilson_interval(0, 40)
    >>> round(float(lo), 3), round(float(hi), 3)
    (0.0, 0.088)
    >>> lo, hi = wilson_interval(0, 600)
    >>> round(float(hi), 4)
    0.0064
    """
    k = np.asarray(successes, dtype=float)
    m = np.asarray(n, dtype=float)
    _check_counts(k, m, "wilson_interval")
    _check_conf(confidence, "wilson_interval")
    z = _st.norm.ppf(0.5 + confidence / 2.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / m
        denom = 1.0 + z * z / m
        centre = (p + z * z / (2 * m)) / denom
        half = z * np.sqrt(p * (1 - p) / m + z * z / (4 * m * m)) / denom
        lo = np.clip(centre - half, 0.0, 1.0)
        hi = np.clip(centre + half, 0.0, 1.0)
    lo = np.where(k == 0, 0.0, lo)
    hi = np.where(k == m, 1.0, hi)
    lo = np.where(m == 0, np.nan, lo)
    hi = np.where(m == 0, np.nan, hi)
    return lo, hi


def clopper_pearson_interval(successes: np.ndarray | int, n: np.ndarray | int,
                             confidence: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Exact (Clopper–Pearson) two-sided interval of a proportion (vectorised, conservative).

    Examples
    --------
    >>> lo, hi = clopper_pearson_interval(0, 40)
    >>> round(float(hi), 4)
    0.0881
    >>> lo, hi = clopper_pearson_interval(5, 10)
    >>> round(float(lo), 3), round(float(hi), 3)
    (0.187, 0.813)
    """
    k = np.asarray(successes, dtype=float)
    m = np.asarray(n, dtype=float)
    _check_counts(k, m, "clopper_pearson_interval")
    _check_conf(confidence, "clopper_pearson_interval")
    a = 1.0 - confidence
    k, m = np.broadcast_arrays(k, m)
    lo = np.zeros(k.shape)
    hi = np.ones(k.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        # closed forms where one tail is empty: k == 0 -> hi = 1 - (a/2)^(1/n); k == n -> lo = (a/2)^(1/n)
        zero = (k == 0) & (m > 0)
        hi[zero] = 1.0 - (a / 2) ** (1.0 / m[zero])
        full = (k == m) & (m > 0)
        lo[full] = (a / 2) ** (1.0 / m[full])
        need_lo = (k > 0) & ~full
        need_hi = (k < m) & ~zero
        if need_lo.any():
            lo[need_lo] = _special.betaincinv(k[need_lo], m[need_lo] - k[need_lo] + 1, a / 2)
        if need_hi.any():
            hi[need_hi] = _special.betaincinv(k[need_hi] + 1, m[need_hi] - k[need_hi], 1 - a / 2)
    lo = np.where(m == 0, np.nan, lo)
    hi = np.where(m == 0, np.nan, hi)
    return lo, hi


_RESAMPLE_BELOW = 1_000  # non-zero values below which the mean's bootstrap range is resampled


def bootstrap_mean_range(x: np.ndarray, *, confidence: float = 0.9, n_boot: int = 200, seed: int = 0,
                         resample_below: int = _RESAMPLE_BELOW) -> tuple[float, float]:
    """The ``confidence`` percentile range of the bootstrap distribution of ``x.mean()`` (all ``n`` values
    resampled with replacement).

    With fewer than ``resample_below`` non-zero values (a saving that touches few cases: the distribution is
    lumpy) it is estimated from ``n_boot`` resamples, deterministic per ``seed``; each resample draws only
    non-zero values — how many of the ``n`` draws hit them is binomial, which ones uniform: the same
    distribution for far fewer random numbers. From there on it is the distribution's Cornish–Fisher
    quantile: its mean, variance, skewness and excess kurtosis follow exactly from ``x``'s central moments
    (``m2/n``, ``m3/(m2^1.5 √n)``, ``(m4/m2² - 3)/n``). On skewed savings (log-normal, Pareto, mixed signs,
    185 to 150,000 non-zero values) it lies within 0.03 standard errors of a 20,000-resample bootstrap,
    where 200 resamples scatter by up to 0.3, and it costs one pass over ``x`` instead of ``n_boot × n``
    random draws.

    Examples
    --------
    >>> x = np.r_[np.zeros(5_000), np.linspace(0.0, 4.0, 5_000)]
    >>> lo, hi = bootstrap_mean_range(x)
    >>> bool(lo < x.mean() < hi), round(hi - lo, 3)
    (True, 0.042)
    """
    _check_conf(confidence, "bootstrap_mean_range")
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    if n == 0:
        return float("nan"), float("nan")
    alpha = (1.0 - confidence) / 2.0
    moved = x[x != 0]
    if moved.shape[0] < resample_below:
        if n_boot <= 0:
            mean = float(x.mean())
            return mean, mean
        rng = np.random.default_rng(seed)
        means = np.empty(n_boot)
        hits = rng.binomial(n, moved.shape[0] / n, size=n_boot)
        for b in range(n_boot):  # one vectorised resample per replicate (not per value)
            means[b] = moved[rng.integers(0, max(moved.shape[0], 1), size=hits[b])].sum() / n if hits[b] else 0.0
        lo, hi = np.quantile(means, [alpha, 1 - alpha])
        return float(lo), float(hi)
    mu = float(x.mean())
    d = x - mu
    d2 = d * d
    m2 = float(d2.mean())
    if m2 <= 0.0:
        return mu, mu
    m3 = float((d2 * d).mean())
    m4 = float((d2 * d2).mean())
    g1 = m3 / m2 ** 1.5 / float(np.sqrt(n))  # skewness of the resampled mean
    g2 = (m4 / (m2 * m2) - 3.0) / n  # its excess kurtosis
    sd = float(np.sqrt(m2 / n))
    out = []
    for z in (float(_special.ndtri(alpha)), float(_special.ndtri(1.0 - alpha))):
        w = z + (z * z - 1.0) * g1 / 6.0 + (z ** 3 - 3.0 * z) * g2 / 24.0 - (2.0 * z ** 3 - 5.0 * z) * g1 * g1 / 36.0
        out.append(mu + sd * w)
    return float(min(out[0], mu)), float(max(out[1], mu))


def bootstrap_median_ci(values: np.ndarray, confidence: float = 0.95, n_boot: int = 1000,
                        seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the median of ``values`` (deterministic per ``seed``).

    Large samples are subsampled to at most 20 000 values per resample so the cost stays bounded.

    Examples
    --------
    >>> lo, hi = bootstrap_median_ci(np.arange(101.0))
    >>> 35 <= lo <= 50 <= hi <= 65
    True
    """
    _check_conf(confidence, "bootstrap_median_ci")
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return float("nan"), float("nan")
    if x.size == 1:
        return float(x[0]), float(x[0])
    rng = np.random.default_rng(seed)
    size = min(x.size, 20_000)
    n_boot = max(int(n_boot), 50)
    meds = np.empty(n_boot)
    chunk = max(1, 2_000_000 // size)
    for i in range(0, n_boot, chunk):  # loop over resample chunks, not values
        j = min(n_boot, i + chunk)
        idx = rng.integers(0, x.size, size=(j - i, size))
        meds[i:j] = np.median(x[idx], axis=1)
    a = (1.0 - confidence) / 2.0
    return float(np.quantile(meds, a)), float(np.quantile(meds, 1.0 - a))


def median_ci(values: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """Distribution-free confidence interval of the median from order statistics (binomial ranks).

    The interval is ``[x_(l), x_(u)]`` with ranks ``n/2 ∓ z·sqrt(n)/2``; it needs one partial sort and
    no resampling, so it costs O(n) on any log size.

    Examples
    --------
    >>> lo, hi = median_ci(np.arange(101.0))
    >>> 35 <= lo <= 50 <= hi <= 65
    True
    >>> median_ci(np.array([7.0]))
    (7.0, 7.0)
    """
    _check_conf(confidence, "median_ci")
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = x.size
    if n == 0:
        return float("nan"), float("nan")
    z = _st.norm.ppf(0.5 + confidence / 2.0)
    half = z * np.sqrt(n) / 2.0
    lo = int(np.clip(np.floor(n / 2.0 - half), 0, n - 1))
    hi = int(np.clip(np.ceil(n / 2.0 + half), 0, n - 1))
    part = np.partition(x, [lo, hi])
    return float(part[lo]), float(part[hi])


@dataclass(frozen=True, slots=True, kw_only=True)
class TrendResult:
    """Result of :func:`mann_kendall`: direction, p-value, Kendall's tau and the Theil–Sen slope (per step)."""

    trend: Literal["increasing", "decreasing", "none"]
    p_value: float
    tau: float
    slope: float
    n: int


def mann_kendall(series: np.ndarray, alpha: float = 0.05) -> TrendResult:
    """Mann–Kendall trend test (normal approximation, tie-corrected) with the Theil–Sen slope.

    ``series`` is ordered in time, one value per equally spaced period. Fewer than 4 finite values
    gives ``trend="none"`` with ``p_value=1``.

    Examples
    --------
    >>> r = mann_kendall(np.arange(20.0) + np.tile([0.0, 0.5], 10))
    >>> r.trend, r.slope > 0.9
    ('increasing', True)
    >>> mann_kendall(np.array([3.0, 1.0, 2.0])).trend
    'none'
    """
    if not 0.0 < alpha < 1.0:
        raise ParameterError(f"The 'alpha' parameter of mann_kendall must be a float in (0, 1). Got {alpha!r} instead.")
    y = np.asarray(series, dtype=float)
    t = np.arange(y.size, dtype=float)
    ok = np.isfinite(y)
    y, t = y[ok], t[ok]
    n = int(y.size)
    if n < 4:
        return TrendResult(trend="none", p_value=1.0, tau=0.0, slope=0.0, n=n)
    i, j = np.triu_indices(n, k=1)
    d = y[j] - y[i]
    s = float(np.sign(d).sum())
    _, counts = np.unique(y, return_counts=True)
    var = (n * (n - 1) * (2 * n + 5) - float(np.sum(counts * (counts - 1) * (2 * counts + 5)))) / 18.0
    if var <= 0:
        return TrendResult(trend="none", p_value=1.0, tau=0.0, slope=0.0, n=n)
    z = (s - np.sign(s)) / np.sqrt(var)
    p = float(2.0 * _st.norm.sf(abs(z)))
    tau = s / (n * (n - 1) / 2.0)
    slope = float(np.median(d / (t[j] - t[i])))
    trend: Literal["increasing", "decreasing", "none"] = "none"
    if p < alpha:
        trend = "increasing" if s > 0 else "decreasing"
    return TrendResult(trend=trend, p_value=p, tau=float(tau), slope=slope, n=n)


def kruskal_wallis(samples: list[np.ndarray]) -> tuple[float, float]:
    """``scipy.stats.kruskal(*samples)`` — the H statistic (tie-corrected) and its chi-square p-value — for
    two or more non-empty samples without NaN that are not all one value.

    The same floats as SciPy's current implementation (tested against the installed SciPy; releases before
    its array-API rewrite summed the tie correction differently, which can change the last bits): the same
    average ranks from one sort, rank sums per sample (exact: sums of half-integers), the same
    tie-correction array and expressions. SciPy's generic path (NaN policy, array-API dispatch, ranks put back
    in input order) costs more than the sort on large samples.

    Examples
    --------
    >>> h, p = kruskal_wallis([np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0, 6.0, 6.0])])
    >>> round(h, 4), round(p, 4)
    (4.5818, 0.0323)
    """
    k = len(samples)
    n = [int(x.shape[0]) for x in samples]
    totaln = sum(n)
    if k < 2 or min(n) < 1:
        raise ParameterError(f"kruskal_wallis needs two or more non-empty samples. Got sizes {n!r} instead.")
    x = np.concatenate(samples).astype(np.float64, copy=False)
    # any order that sorts x: equal values share one average rank, so each sample's ranks, taken in sorted
    # order, are the same sequence of numbers (the same sums) however ties are ordered. NumPy's default sort
    # is vectorised; its stable sort takes 3-4x as long on a million durations
    j = np.argsort(x)
    y = x[j]
    first = np.ones(totaln, dtype=bool)  # the first of each run of equal values, in sorted order
    np.not_equal(y[:-1], y[1:], out=first[1:])
    idx = np.flatnonzero(first)
    counts = np.diff(idx, append=totaln)
    ranks = np.repeat((idx + 1).astype(np.float64) + (counts.astype(np.float64) - 1) / 2, counts)
    group = np.repeat(np.arange(k), n)[j]
    sums = np.bincount(group, weights=ranks, minlength=k)
    t = np.zeros(totaln, dtype=np.float64)
    t[first] = counts.astype(np.float64)
    ties = 1 - np.sum(t**3 - t) / (totaln**3 - totaln)
    ssbn = sum(sums[i] ** 2 / n[i] for i in range(k))
    h = 12.0 / (totaln * (totaln + 1)) * ssbn - 3 * (totaln + 1)
    h /= ties
    return float(h), float(_special.chdtrc(np.asarray(k - 1, dtype=np.float64), h))


def severity(effect: float, confidence: float, support: int, min_support: int = 30) -> Severity | None:
    """Severity from an effect size in [0, 1], a confidence in [0, 1] and the number of cases behind it.

    ``None`` means "not worth a finding" (too few cases or too small an effect). ``"high"`` needs a
    large effect, confidence of at least 0.9 and at least ``max(4 * min_support, 100)`` cases;
    ``"medium"`` needs ``2 * min_support`` cases. The score is ``effect * confidence``:
    >= 0.25 high, >= 0.08 medium, >= 0.02 low.

    Examples
    --------
    >>> severity(0.6, 0.99, 500)
    'high'
    >>> severity(0.6, 0.99, 40)           # big effect, too few cases for more than "low"
    'low'
    >>> severity(0.001, 0.99, 5000) is None
    True
    >>> severity(0.6, 0.99, 10) is None   # below minimum support
    True
    """
    if min_support < 1:
        raise ParameterError(f"The 'min_support' parameter of severity must be an int >= 1. Got {min_support!r} instead.")
    if not np.isfinite(effect) or not np.isfinite(confidence) or support < min_support:
        return None
    score = float(np.clip(effect, 0.0, 1.0)) * float(np.clip(confidence, 0.0, 1.0))
    if score < 0.02:
        return None
    if score >= 0.25 and confidence >= 0.9 and support >= max(4 * min_support, 100):
        return "high"
    if score >= 0.08 and support >= 2 * min_support:
        return "medium"
    return "low"
