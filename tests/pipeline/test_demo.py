# SPDX-License-Identifier: Apache-2.0
"""homerec demo: the whole offline story in one call, on a tiny generated data set."""

from homerec.pipeline.demo import run_demo


def test_the_demo_runs_every_step_and_reports_them(tmp_path):
    s = run_demo(tmp_path, scale=0.005, seed=2, say=lambda _m: None)
    assert s.generated.n_interactions == sum(r.imported for r in s.imported if r.kind == "interactions")
    assert s.trained.version == "v1" and s.trained.model == "hybrid"
    assert "hybrid" in s.evaluation.models and s.evaluation.n_eval_users > 0
    assert s.batch.n_users == s.generated.n_users and s.batch.n_items == s.generated.n_items
    assert (tmp_path / "evaluation.html").exists() and (tmp_path / "batch.jsonl").exists()
    assert len(s.sample) == 5 and all(r.reason.startswith("hybrid") for r in s.sample)
    again = run_demo(tmp_path, scale=0.005, seed=2, say=lambda _m: None)  # re-running imports nothing twice
    assert sum(r.imported for r in again.imported) == 0 and again.trained.version == "v2"
