# SPDX-License-Identifier: Apache-2.0
"""Hybrid: the contract, per-bucket weights, skipped parts and explained reasons."""

import numpy as np

from homerec.models.hybrid import Hybrid
from homerec.models.scaling import normalize_scores
from tests.models.conftest import GROUP_A
from tests.models.contract import PersonalizedContract

PARTS = ["popularity", "als", "ease"]
PARAMS = {"als": {"factors": 4, "regularization": 1.0, "alpha": 5.0}, "ease": {"regularization": 1.0}}


class TestHybrid(PersonalizedContract):
    def make(self):
        return Hybrid(parts=PARTS, part_params=PARAMS, weights={"popularity": [0.1, 0.1, 0.1]})


def test_normalize_scores_scales_rows_and_marks_unscored():
    s = normalize_scores(np.array([[1.0, 3.0, -np.inf], [2.0, 2.0, 2.0]]))
    np.testing.assert_allclose(s[0, :2], [0.0, 1.0])
    assert np.isnan(s[0, 2])
    np.testing.assert_allclose(s[1], [0.0, 0.0, 0.0])


def test_weights_follow_the_history_bucket(checkerboard):
    only_pop_for_short = {"popularity": [1.0, 0.0, 0.0], "als": [0.0, 1.0, 1.0], "ease": [0.0, 0.0, 0.0]}
    model = Hybrid(parts=PARTS, part_params=PARAMS, weights=only_pop_for_short, bucket_edges=[2, 10]).fit(checkerboard)
    short = model.recommend(None, k=3, history=GROUP_A[:1])
    pop_top = [r.item_id for r in model.models_["popularity"].recommend(None, k=3, history=GROUP_A[:1])]
    assert [r.item_id for r in short] == pop_top
    assert all(r.reason.startswith("hybrid: popularity") for r in short)


def test_a_part_without_its_inputs_steps_aside(checkerboard):
    model = Hybrid(parts=["popularity", "ease", "content"]).fit(checkerboard, features=None)
    assert set(model.models_) == {"popularity", "ease"}
    assert "metadata" in model.skipped_["content"]


def test_reasons_name_the_parts(checkerboard):
    model = Hybrid(parts=PARTS, part_params=PARAMS).fit(checkerboard)
    recs = model.recommend("u10", k=2, history=GROUP_A[1:4])
    assert all(r.reason.startswith("hybrid: ") and "%" in r.reason for r in recs)
