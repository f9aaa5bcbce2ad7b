# SPDX-License-Identifier: Apache-2.0
"""The guardrail: a running experiment whose candidate is significantly worse is rolled back by itself."""

import pytest

from homerec.experiments.spec import Experiment, Variant
from homerec.pipeline.experiment_report import build_report, check_running_guardrail, load_experiment
from homerec.storage import open_store
from tests.experiments import T0, simulate


def seeded_store(tmp_path, candidate: tuple[float, float, float], guardrail: str | None = "conversion"):
    store = open_store(f"sqlite:///{tmp_path / 'h.db'}")
    exp = Experiment("exp", "s", "split", "control", (Variant("control", "model:active", 0.5),
                     Variant("candidate", "model:v2", 0.5)), guardrail=guardrail, created_at=T0 - 1)
    store.put_experiment(exp.name, exp.to_json(), exp.status)
    exposures, events = simulate({"control": (0.05, 0.10, 50.0), "candidate": candidate}, n_users=6000, seed=4)
    store.add_exposures(exposures)
    store.add_interactions(events)
    return store


@pytest.mark.parametrize(("candidate", "rolled_back"), [((0.05, 0.04, 50.0), True), ((0.05, 0.10, 50.0), False)])
def test_the_guardrail_rolls_back_only_a_significantly_worse_candidate(tmp_path, candidate, rolled_back):
    store = seeded_store(tmp_path, candidate)
    try:
        note = check_running_guardrail(store)
        exp = load_experiment(store, "exp")
        assert (exp.status == "rolled_back") is rolled_back, note
        assert ("rolled back" in note) is rolled_back
        if rolled_back:
            assert exp.shares == {"control": 1.0, "candidate": 0.0}
            assert check_running_guardrail(store) == "no experiment is running"
    finally:
        store.close()


def test_without_a_guardrail_nothing_is_rolled_back(tmp_path):
    store = seeded_store(tmp_path, (0.05, 0.04, 50.0), guardrail=None)
    try:
        assert check_running_guardrail(store) == "exp has no guardrail"
        exp, report = build_report(store, "exp")
        assert exp.status == "running" and set(report["variants"]) >= {"control", "candidate"}
    finally:
        store.close()
