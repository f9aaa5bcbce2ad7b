# SPDX-License-Identifier: Apache-2.0
"""Intervals, tests, lift and the sample-ratio check against formulas written out by hand."""

import math

import numpy as np
import pytest
from scipy import stats as sps

from homerec.experiments import stats

Z95 = 1.959963984540054


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (40, 1000), (600, 10000), (10, 10)])
def test_wilson_interval_matches_the_formula(k, n):
    p = k / n
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 / (1 + Z95**2 / n) * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n**2))
    low, high = stats.proportion_ci(k, n)
    assert low == pytest.approx(centre - half, abs=1e-12)
    assert high == pytest.approx(centre + half, abs=1e-12)


def test_wilson_at_another_level_and_without_data():
    z = sps.norm.ppf(0.995)
    low, _ = stats.proportion_ci(30, 200, confidence=0.99)
    p = 30 / 200
    expected = (p + z**2 / 400 - z * math.sqrt(p * (1 - p) / 200 + z**2 / (4 * 200**2))) / (1 + z**2 / 200)
    assert low == pytest.approx(expected, abs=1e-12)
    assert all(math.isnan(x) for x in stats.proportion_ci(0, 0))


def test_mean_interval_is_student_t():
    x = np.random.default_rng(1).exponential(20.0, 50)
    mean, std = x.mean(), x.std(ddof=1)
    half = sps.t.ppf(0.975, 49) * std / math.sqrt(50)  # 2.0096 * s / sqrt(n)
    assert stats.mean_ci(mean, std, 50) == pytest.approx((mean - half, mean + half), abs=1e-10)
    assert all(math.isnan(v) for v in stats.mean_ci(1.0, 0.5, 1))
    assert stats.mean_ci(2.0, 0.0, 10) == (2.0, 2.0)


def test_two_proportion_z_test_equals_the_uncorrected_chi_square():
    for k_t, n_t, k_c, n_c in [(60, 1000, 40, 1000), (1200, 20000, 800, 20000), (5, 90, 9, 110)]:
        table = [[k_t, n_t - k_t], [k_c, n_c - k_c]]
        expected = sps.chi2_contingency(table, correction=False).pvalue
        assert stats.two_proportion_pvalue(k_t, n_t, k_c, n_c) == pytest.approx(expected, rel=1e-9)
    # z = 0.02 / sqrt(0.05 * 0.95 * 2 / 10000) = 6.489 by hand
    z = 0.02 / math.sqrt(0.05 * 0.95 * 2 / 10000)
    assert stats.two_proportion_pvalue(600, 10000, 400, 10000) == pytest.approx(2 * sps.norm.sf(z), rel=1e-9)
    assert stats.two_proportion_pvalue(0, 100, 0, 100) == 1.0
    assert math.isnan(stats.two_proportion_pvalue(1, 0, 1, 10))


def test_welch_from_summaries_equals_welch_on_raw_values():
    rng = np.random.default_rng(2)
    a, b = rng.exponential(3.0, 400), rng.exponential(3.6, 700)
    expected = sps.ttest_ind(a, b, equal_var=False).pvalue
    got = stats.welch_pvalue(a.mean(), a.std(ddof=1), len(a), b.mean(), b.std(ddof=1), len(b))
    assert got == pytest.approx(expected, rel=1e-9)
    assert stats.welch_pvalue(0.0, 0.0, 10, 0.0, 0.0, 10) == 1.0
    assert math.isnan(stats.welch_pvalue(1.0, 1.0, 1, 1.0, 1.0, 10))


def test_relative_lift_delta_method_by_hand():
    lift = stats.relative_lift(0.06, 0.002, 0.04, 0.0015)
    se = math.sqrt(0.002**2 / 0.04**2 + (0.06 / 0.04) ** 2 * 0.0015**2 / 0.04**2)
    assert lift.value == pytest.approx(0.5)
    assert (lift.low, lift.high) == pytest.approx((0.5 - Z95 * se, 0.5 + Z95 * se))
    assert all(math.isnan(v) for v in stats.relative_lift(0.1, 0.01, 0.0, 0.0))


def test_relative_lift_interval_covers_the_true_lift_95_percent_of_the_time():
    rng = np.random.default_rng(3)
    n, p_t, p_c, reps = 5000, 0.06, 0.05, 2000
    k_t, k_c = rng.binomial(n, p_t, reps), rng.binomial(n, p_c, reps)
    hits = 0
    for a, b in zip(k_t, k_c, strict=True):
        lift = stats.relative_lift(a / n, stats.proportion_se(a, n), b / n, stats.proportion_se(b, n))
        hits += lift.low <= p_t / p_c - 1 <= lift.high
    assert 0.93 <= hits / reps <= 0.97


def test_srm_flags_a_52_48_split_of_20000_users():
    res = stats.srm_check({"control": 10400, "candidate": 9600}, {"control": 0.5, "candidate": 0.5})
    assert res.chi2 == pytest.approx(32.0)  # 2 * 400**2 / 10000
    assert res.p_value == pytest.approx(sps.chi2.sf(32.0, 1))
    assert res.mismatch and "SAMPLE RATIO MISMATCH" in res.warning and "52.0%" in res.warning
    assert res.expected == {"control": 10000.0, "candidate": 10000.0}


def test_srm_accepts_a_split_within_chance_and_uneven_shares():
    assert not stats.srm_check({"a": 10050, "b": 9950}, {"a": 0.5, "b": 0.5}).mismatch
    res = stats.srm_check({"a": 9000, "b": 500, "c": 500}, {"a": 0.9, "b": 0.05, "c": 0.05})
    assert res.chi2 == pytest.approx(0.0) and not res.mismatch and res.warning is None


def test_srm_flags_users_in_a_variant_without_share():
    res = stats.srm_check({"a": 500, "b": 500, "old": 3}, {"a": 0.5, "b": 0.5, "off": 0.0})
    assert res.mismatch and "old (3)" in res.warning
    assert res.p_value == pytest.approx(1.0)  # a and b alone are balanced
    assert stats.srm_check({}, {"a": 0.5, "b": 0.5}).mismatch is False
