# SPDX-License-Identifier: Apache-2.0
"""Statistics of an A/B experiment: confidence intervals, lift, tests and the sample-ratio check.

All functions take summary statistics (counts, means, standard deviations), never raw logs, so
the dashboard can recompute them from a stored report. They return ``nan`` where a value is
undefined (no users yet, a control rate of zero) instead of raising.

- Proportions (CTR, conversion): Wilson score interval; candidate vs control by the pooled
  two-proportion z-test (the same p-value as a 2x2 chi-square test without continuity
  correction).
- Means (revenue per user): Student t interval on the per-user values; candidate vs control by
  Welch's unequal-variance t-test.
- Relative lift ``candidate / control - 1``: the delta method on the ratio of two independent
  means, ``se = sqrt(se_t**2 / m_c**2 + m_t**2 * se_c**2 / m_c**4)``, with a symmetric normal
  interval. Its interval and the test's p-value come from different approximations and can
  disagree right at the significance boundary.
- Sample-ratio mismatch: ``scipy.stats.chisquare`` of users per variant against the expected
  traffic shares; ``p < 0.001`` is a mismatch (the usual threshold, strict because the check
  runs on every report).
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
SRM_ALPHA = 0.001
NAN = float("nan")


class Interval(NamedTuple):
    """A two-sided confidence interval."""

    low: float
    high: float


class Lift(NamedTuple):
    """Relative lift of a candidate over control with its confidence interval."""

    value: float
    low: float
    high: float


def z_quantile(confidence: float = CONFIDENCE) -> float:
    """The standard normal quantile of a two-sided interval (1.96 for 95%)."""
    return float(stats.norm.ppf(0.5 + confidence / 2))


def proportion_ci(successes: int, n: int, confidence: float = CONFIDENCE) -> Interval:
    """Wilson score interval of a proportion ``successes / n``; nan when ``n == 0``."""
    if n <= 0:
        return Interval(NAN, NAN)
    ci = stats.binomtest(int(successes), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return Interval(float(ci.low), float(ci.high))


def mean_ci(mean: float, std: float, n: int, confidence: float = CONFIDENCE) -> Interval:
    """Student t interval of a mean from the sample std (ddof=1) of ``n`` values; nan when n < 2."""
    if n < 2 or not math.isfinite(std):
        return Interval(NAN, NAN)
    if std == 0:
        return Interval(float(mean), float(mean))
    low, high = stats.t.interval(confidence, n - 1, loc=mean, scale=std / math.sqrt(n))
    return Interval(float(low), float(high))


def proportion_se(successes: int, n: int) -> float:
    """Standard error ``sqrt(p (1 - p) / n)`` of an observed proportion; nan when ``n == 0``."""
    if n <= 0:
        return NAN
    p = successes / n
    return math.sqrt(p * (1 - p) / n)


def mean_se(std: float, n: int) -> float:
    """Standard error ``std / sqrt(n)`` of a mean; nan when n < 2."""
    return std / math.sqrt(n) if n >= 2 else NAN


def two_proportion_pvalue(k_t: int, n_t: int, k_c: int, n_c: int) -> float:
    """Two-sided p-value of the pooled two-proportion z-test of ``k_t/n_t`` vs ``k_c/n_c``."""
    if n_t <= 0 or n_c <= 0:
        return NAN
    pooled = (k_t + k_c) / (n_t + n_c)
    var = pooled * (1 - pooled) * (1 / n_t + 1 / n_c)
    if var <= 0:
        return 1.0  # both all-zero or all-one: no difference can be seen
    z = (k_t / n_t - k_c / n_c) / math.sqrt(var)
    return float(2 * stats.norm.sf(abs(z)))


def welch_pvalue(mean_t: float, std_t: float, n_t: int, mean_c: float, std_c: float, n_c: int) -> float:
    """Two-sided p-value of Welch's t-test from summary statistics (std with ddof=1)."""
    if n_t < 2 or n_c < 2:
        return NAN
    if std_t == 0 and std_c == 0:
        return 1.0 if mean_t == mean_c else 0.0
    res = stats.ttest_ind_from_stats(mean_t, std_t, n_t, mean_c, std_c, n_c, equal_var=False)
    return float(res.pvalue)


def relative_lift(mean_t: float, se_t: float, mean_c: float, se_c: float,
                  confidence: float = CONFIDENCE) -> Lift:
    """``mean_t / mean_c - 1`` with a delta-method interval (independent groups); nan if mean_c <= 0."""
    if not mean_c > 0 or not (math.isfinite(mean_t) and math.isfinite(se_t) and math.isfinite(se_c)):
        return Lift(NAN, NAN, NAN)
    ratio = mean_t / mean_c
    se = math.sqrt(se_t**2 / mean_c**2 + ratio**2 * se_c**2 / mean_c**2)
    half = z_quantile(confidence) * se
    return Lift(ratio - 1, ratio - 1 - half, ratio - 1 + half)


@dataclass(frozen=True)
class SrmResult:
    """The sample-ratio-mismatch check: observed users per variant against the traffic shares."""

    chi2: float
    p_value: float
    observed: dict[str, int]
    expected: dict[str, float]
    mismatch: bool
    warning: str | None


def srm_check(observed: Mapping[str, int], shares: Mapping[str, float], alpha: float = SRM_ALPHA) -> SrmResult:
    """Chi-square goodness of fit of users per variant to ``shares``; a mismatch when p < alpha.

    Variants with a zero share are left out of the test; users in them, or in a variant that is
    not in ``shares`` at all, are a mismatch by themselves.
    """
    total_share = sum(shares.values())
    counts = {v: int(observed.get(v, 0)) for v in shares}
    n = sum(counts.values())
    expected = {v: n * s / total_share for v, s in shares.items()} if total_share > 0 else {}
    tested = [v for v in shares if shares[v] > 0]
    chi2, p = NAN, NAN
    if n > 0 and len(tested) >= 2:
        obs = np.array([counts[v] for v in tested], dtype=float)
        exp = np.array([expected[v] for v in tested])
        exp *= obs.sum() / exp.sum()  # chisquare wants equal totals
        res = stats.chisquare(obs, exp)
        chi2, p = float(res.statistic), float(res.pvalue)
    stray = {v: int(c) for v, c in observed.items() if c and (v not in shares or shares[v] <= 0)}
    warnings = []
    if p < alpha:
        split = " / ".join(f"{v} {counts[v]} ({counts[v] / n:.1%})" for v in shares)
        want = " / ".join(f"{s / total_share:.1%}" for s in shares.values())
        warnings.append(f"SAMPLE RATIO MISMATCH: users split {split} but the expected shares are {want} "
                        f"(chi-square p = {p:.2g} < {alpha:g}). Assignment or exposure logging is broken; "
                        "do not trust the lifts until the cause is found.")
    if stray:
        warnings.append("SAMPLE RATIO MISMATCH: users in variants without traffic share: "
                        + ", ".join(f"{v} ({c})" for v, c in stray.items()) + ".")
    return SrmResult(chi2=chi2, p_value=p, observed={**counts, **stray}, expected=expected,
                     mismatch=bool(warnings), warning=" ".join(warnings) or None)
