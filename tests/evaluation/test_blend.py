# SPDX-License-Identifier: Apache-2.0
"""Blend tuning: the search finds the informative part and never ends below the best single part."""

import numpy as np

from homerec.evaluation.blend import Candidates, fit_tuned_hybrid, ndcg_per_user, search_weights
from homerec.evaluation.breadth import Breadth, ListBreadth
from tests.evaluation import random_data


def _candidates(rng, n_users=300, width=40, informative=1) -> Candidates:
    relevant = np.zeros((n_users, width), bool)
    relevant[np.arange(n_users), rng.integers(0, width, n_users)] = True
    values = rng.random((3, n_users, width)).astype(np.float32)
    values[informative] += 2.0 * relevant  # part 1 knows the answer
    ideal = np.ones(n_users)
    return Candidates(values, relevant, np.ones_like(relevant), ideal, np.zeros(n_users, int))


def test_search_puts_the_weight_on_the_informative_part():
    c = _candidates(np.random.default_rng(0))
    rows = np.arange(c.relevant.shape[0])
    w, score = search_weights(c, rows, k=10)
    assert w.argmax() == 1 and score > 0.95
    for j in range(3):
        assert score >= ndcg_per_user(c, np.eye(3)[j], rows, 10).mean() - 1e-9


def test_fit_tuned_hybrid_reports_validation_scores():
    data = random_data(n_users=120, n_items=30, n_events=3000, seed=1)
    model = fit_tuned_hybrid(data, parts=["popularity", "ease"], part_params={"ease": {"regularization": 1.0}},
                             breadth=Breadth(1.0, 0.0))  # no breadth limit: the blend never ends below a part
    report = model.blend_report_
    assert set(report.weights) == {"popularity", "ease"}
    assert report.validation_ndcg["hybrid"] >= max(report.validation_ndcg["popularity"], report.validation_ndcg["ease"]) - 1e-9
    assert report.decision["served"] in ("blend", "popularity", "ease") and report.decision["reason"]


def test_the_constraint_keeps_the_popular_list_out_and_lists_broad():
    c = _candidates(np.random.default_rng(0), n_users=300, width=200, informative=0)
    c.items = np.tile(np.arange(200), (300, 1))
    c.n_items = 200
    c.values[0] = np.linspace(1.0, 0.0, 200)[None, :] + 0.5 * c.relevant  # a shared best-seller order, some signal
    rows = np.arange(300)
    free, _ = search_weights(c, rows, k=10)
    bound, _ = search_weights(c, rows, k=10, limits=Breadth(0.2, 0.0).limits(1.0))
    assert ListBreadth.of(c.blend(bound, rows, 10)[1], 200).max_item_share <= 0.2
    assert ListBreadth.of(c.blend(free, rows, 10)[1], 200).max_item_share > 0.2
