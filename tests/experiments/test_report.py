# SPDX-License-Identifier: Apache-2.0
"""Reports on generated logs with a known effect, none (A/A), and a broken split."""

import json
import time

import numpy as np
import pytest
from scipy import stats as sps

from homerec.errors import InputError
from homerec.experiments.report import experiment_report, guardrail_breached
from tests.experiments import DAY, T0, simulate

HALF = {"control": 0.5, "candidate": 0.5}


def _report(variants, n_users=20_000, **kwargs):
    split = kwargs.pop("split", None)
    exposures, events = simulate(variants, n_users, split=split, seed=kwargs.pop("seed", 0),
                                 shadow=kwargs.pop("shadow", False))
    return experiment_report("exp", exposures, events, kwargs.pop("shares", HALF), "control", **kwargs)


@pytest.fixture(scope="module")
def effect():
    """Candidate CTR 6% vs 4% and order value 45 vs 30; conversion equal."""
    return _report({"control": (0.04, 0.10, 30.0), "candidate": (0.06, 0.10, 45.0)}, seed=7)


@pytest.fixture(scope="module")
def aa():
    return _report({"control": (0.04, 0.10, 30.0), "candidate": (0.04, 0.10, 30.0)}, seed=11)


def test_a_known_ctr_effect_is_found(effect):
    cand = effect["variants"]["candidate"]
    lift = cand["lift"]["ctr"]
    assert lift["p_value"] < 0.01 and lift["significant"]
    assert 0 < lift["ci_low"] <= 0.5 <= lift["ci_high"]  # true lift +50%
    assert cand["metrics"]["ctr"]["value"] == pytest.approx(0.06, abs=0.004)
    assert effect["variants"]["control"]["metrics"]["ctr"]["value"] == pytest.approx(0.04, abs=0.004)
    assert any(line.startswith("candidate vs control, CTR") and "significantly better" in line
               for line in effect["summary"])


def test_a_known_revenue_effect_is_found_and_no_conversion_effect_invented(effect):
    cand = effect["variants"]["candidate"]
    assert cand["lift"]["revenue_per_user"]["p_value"] < 0.01
    assert cand["lift"]["revenue_per_user"]["ci_low"] <= 0.5 <= cand["lift"]["revenue_per_user"]["ci_high"]
    assert cand["metrics"]["revenue_per_user"]["value"] == pytest.approx(4.5, rel=0.1)
    assert cand["lift"]["conversion"]["p_value"] > 0.01
    assert cand["metrics"]["conversion"]["value"] == pytest.approx(0.10, abs=0.01)


def test_counts(effect):
    rows = effect["variants"]
    assert list(rows) == ["control", "candidate"]
    assert sum(r["users"] for r in rows.values()) == 20_000
    for r in rows.values():
        assert r["assigned_users"] == r["users"] and r["shadow_exposures"] == 0
        assert r["clicks"] == r["clicked_exposures"] > 0 and r["unattributed_clicks"] == 0
        assert r["converters"] == r["purchases"]  # one purchase per buyer; the earlier ones do not count
    assert not effect["srm"]["mismatch"] and effect["conflicting_users"]["count"] == 0
    assert json.loads(json.dumps(effect, allow_nan=False)) == effect


def test_an_aa_test_finds_no_difference(aa):
    """No difference at the guardrail's level on a fixed seed; calibration is the next test's job."""
    for metric, lift in aa["variants"]["candidate"]["lift"].items():
        assert lift["p_value"] > 0.01, metric
        assert lift["ci_low"] < 0.1 and lift["ci_high"] > -0.1, metric
    assert not aa["srm"]["mismatch"]
    assert guardrail_breached(aa) is None
    assert all(guardrail_breached(aa, metric) is None for metric in ("ctr", "revenue_per_user"))


def test_aa_p_values_are_uniform():
    """Over 60 seeds of a small A/A log, each metric's p-values look uniform (calibrated tests)."""
    same = {"control": (0.05, 0.2, 30.0), "candidate": (0.05, 0.2, 30.0)}
    p = {m: [] for m in ("ctr", "conversion", "revenue_per_user")}
    for seed in range(60):
        lift = _report(same, 2000, seed=100 + seed)["variants"]["candidate"]["lift"]
        for m in p:
            p[m].append(lift[m]["p_value"])
    for m, values in p.items():
        assert sps.kstest(values, "uniform").pvalue > 0.01, m
        assert np.mean(np.array(values) < 0.05) <= 0.15, m


def test_shadow_mode_counts_assigned_users_for_the_sample_ratio():
    report = _report({"control": (0.04, 0.1, 30.0), "candidate": (0.06, 0.1, 30.0)}, 4000, shadow=True,
                     shares={"control": 0.8, "candidate": 0.2}, split={"control": 0.8, "candidate": 0.2})
    ctl, cand = report["variants"]["control"], report["variants"]["candidate"]
    assert ctl["users"] == 4000 and cand["users"] == 0 and cand["exposures"] == 0
    assert cand["assigned_users"] + ctl["assigned_users"] == 4000 and 600 < cand["assigned_users"] < 1000
    assert cand["shadow_exposures"] > cand["assigned_users"] and ctl["shadow_exposures"] == 0
    assert not report["srm"]["mismatch"]
    assert report["srm"]["observed"] == {"control": ctl["assigned_users"], "candidate": cand["assigned_users"]}
    assert any(line.startswith("candidate ran in shadow only") for line in report["summary"])
    assert cand["lift"]["ctr"]["value"] is None and guardrail_breached(report, "ctr") is None


def test_sample_ratio_mismatch_warns():
    report = _report({"control": (0.04, 0.1, 30.0), "candidate": (0.04, 0.1, 30.0)},
                     split={"control": 0.52, "candidate": 0.48}, seed=3)
    srm = report["srm"]
    assert srm["mismatch"] and srm["p_value"] < 0.001
    assert srm["expected"] == {"control": 10_000.0, "candidate": 10_000.0}
    assert srm["observed"]["control"] > 10_200
    assert report["summary"][0] == srm["warning"] and "SAMPLE RATIO MISMATCH" in srm["warning"]


def test_guardrail_stops_a_significantly_worse_candidate():
    report = _report({"control": (0.04, 0.10, 30.0), "candidate": (0.04, 0.05, 30.0)}, seed=5)
    reason = guardrail_breached(report)
    assert reason is not None and reason.startswith("candidate is significantly worse than control on conversion")
    assert guardrail_breached(report, "ctr") is None
    with pytest.raises(InputError, match="unknown guardrail metric"):
        guardrail_breached(report, "ndcg")


def test_guardrail_ignores_a_significantly_better_candidate(effect):
    assert guardrail_breached(effect, "ctr") is None


def test_since_and_experiment_name_filter_the_logs():
    exposures, events = simulate({"control": (0.04, 0.1, 30.0), "candidate": (0.06, 0.1, 30.0)}, 2000, seed=1)
    full = experiment_report("exp", exposures, events, HALF, "control")
    late = experiment_report("exp", exposures, events, HALF, "control", since=T0 + 7 * DAY)
    assert late["period"]["start"] >= T0 + 7 * DAY and late["since"] == T0 + 7 * DAY
    assert 0 < late["variants"]["control"]["exposures"] < full["variants"]["control"]["exposures"]
    other = experiment_report("other", exposures, events, HALF, "control")
    assert all(r["users"] == 0 and r["exposures"] == 0 for r in other["variants"].values())
    assert other["summary"] == ["Experiment other: no served exposures yet."]
    assert other["variants"]["candidate"]["lift"]["ctr"]["value"] is None
    assert guardrail_breached(other) is None
    json.dumps(other, allow_nan=False)


def test_unknown_control_is_an_input_error():
    exposures, events = simulate({"control": (0.04, 0.1, 30.0)}, 10)
    with pytest.raises(InputError, match="control variant 'ctl'"):
        experiment_report("exp", exposures, events, {"control": 1.0}, "ctl")


@pytest.mark.slow
def test_a_million_exposures_report_in_seconds():
    exposures, events = simulate({"control": (0.04, 0.1, 30.0), "candidate": (0.06, 0.1, 30.0)}, 500_000, seed=2)
    assert exposures.height > 950_000
    start = time.perf_counter()
    report = experiment_report("exp", exposures, events, HALF, "control")
    assert time.perf_counter() - start < 20
    assert report["variants"]["candidate"]["lift"]["ctr"]["ci_low"] > 0.4


def test_reported_impressions_are_counted_for_the_variant_each_user_was_served():
    import polars as pl

    exposures, events = simulate({"control": (0.04, 0.10, 30.0), "candidate": (0.06, 0.10, 45.0)}, 2_000, seed=3)
    served = exposures.filter(pl.col("served")).group_by("user_id").agg(pl.col("variant").first())
    users = served.sort("user_id").head(40)
    rows = [(f"e{n}", u, T0 + DAY, f"i{j}", j == 0) for n, u in enumerate(users["user_id"]) for j in range(3)]
    impressions = pl.DataFrame(rows, schema=["event_id", "user_id", "ts", "item_id", "chosen"], orient="row")
    impressions = pl.concat([impressions, pl.DataFrame([("x", "not-in-the-experiment", T0, "i1", False)],
                                                       schema=impressions.schema, orient="row")])
    report = experiment_report("exp", exposures, events, HALF, "control", impressions=impressions)
    by_variant = users.group_by("variant").len()
    for variant, n in by_variant.iter_rows():
        row = report["variants"][variant]
        assert row["impressions"] == 3 * n and row["impressions_chosen"] == n
    assert any(line.startswith("Reported impressions chosen:") for line in report["summary"])
    without = experiment_report("exp", exposures, events, HALF, "control")
    assert all(r["impressions"] == 0 for r in without["variants"].values())
    assert not any("impressions" in line for line in without["summary"])
