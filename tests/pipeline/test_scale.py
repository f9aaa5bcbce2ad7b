# SPDX-License-Identifier: Apache-2.0
"""At a fifth of the reference workload: import, train and batch end to end, and real personalisation."""

import pytest

from homerec.models.registry import Registry
from homerec.pipeline.batch import run_batch
from homerec.pipeline.train import train
from homerec.storage import import_folder, open_store
from homerec.synth.generate import generate


@pytest.mark.slow
def test_a_fifth_of_the_reference_workload(tmp_path):
    summary = generate(tmp_path / "data", scale=0.2, seed=5)
    store = open_store(f"sqlite:///{tmp_path / 'h.db'}")
    try:
        reports = import_folder(store, tmp_path / "data", tmp_path / "rejects")
        assert sum(r.imported for r in reports if r.kind == "interactions") == summary.n_interactions
        registry = Registry(tmp_path / "artifacts")
        report = train(store, registry)
        ndcg = report.validation_ndcg
        assert ndcg["hybrid"] > 1.5 * ndcg["popularity"]  # the generator's tastes are learnable
        assert ndcg["hybrid"] >= max(v for k, v in ndcg.items() if k not in ("hybrid", "hybrid_global_weights"))
        batch = run_batch(store, registry, tmp_path / "b.jsonl", similar_items=True)
        assert batch.n_users == summary.n_users and batch.n_items == summary.n_items
        assert batch.n_fallback_users == summary.n_users - summary.n_users_with_orders
    finally:
        store.close()
