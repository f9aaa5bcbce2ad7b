# SPDX-License-Identifier: Apache-2.0
"""RecommenderContract: the behaviour every model must show; test_<model>.py subclasses it."""

import numpy as np
import pytest

from homerec.models import load_model
from homerec.models.base import FALLBACK_REASON, Recommender
from tests.models.conftest import COLD_ITEM, GROUP_A, GROUP_B, USERS, held_out


class RecommenderContract:
    """Subclasses define `make()` returning an unfitted model."""

    personalized = False

    def make(self) -> Recommender:
        raise NotImplementedError

    @pytest.fixture
    def fitted(self, checkerboard, item_features) -> Recommender:
        return self.make().fit(checkerboard, item_features)

    def test_fit_returns_self(self, checkerboard, item_features):
        model = self.make()
        assert model.fit(checkerboard, item_features) is model

    def test_excludes_seen_items(self, fitted):
        history = GROUP_A[:3]
        recs = fitted.recommend("u10", k=20, history=history)
        assert not {r.item_id for r in recs} & set(history)
        recs = fitted.recommend("u10", k=20, history=history, exclude=[GROUP_B[0]])
        assert GROUP_B[0] not in {r.item_id for r in recs}

    def test_unknown_user_without_history_gets_the_fallback(self, fitted):
        recs = fitted.recommend("nobody", k=3)
        assert len(recs) == 3
        if fitted.needs_history:
            assert all(r.reason == FALLBACK_REASON for r in recs)
        assert all(0.0 <= r.score10 <= 10.0 for r in recs)

    def test_similar_items_stay_in_the_group(self, fitted):
        recs = fitted.similar_items(GROUP_A[0], k=3)
        assert GROUP_A[0] not in {r.item_id for r in recs}
        if self.personalized:
            assert {r.item_id for r in recs} <= set(GROUP_A) | {COLD_ITEM}

    def test_similar_items_of_an_unknown_item_raises(self, fitted):
        from homerec.errors import UnknownItem

        with pytest.raises(UnknownItem):
            fitted.similar_items("i999")

    def test_rank_orders_the_given_items_and_puts_unknown_last(self, fitted):
        ranked = fitted.rank("u10", [GROUP_B[1], "i999", GROUP_A[0]], history=GROUP_A[1:4])
        assert [r.item_id for r in ranked][-1] == "i999"
        assert len(ranked) == 3
        if self.personalized:
            assert ranked[0].item_id == GROUP_A[0]

    def test_scores_survive_a_save_load_round_trip(self, fitted, tmp_path):
        fitted.save(tmp_path / "m")
        loaded = load_model(tmp_path / "m")
        assert type(loaded) is type(fitted)
        assert loaded.params() == fitted.params()
        for user in ("u10", "u11", "nobody"):
            hist = GROUP_A[:2] if user != "u11" else GROUP_B[:2]
            a = fitted.recommend(user, k=5, history=hist)
            b = loaded.recommend(user, k=5, history=hist)
            assert [r.item_id for r in a] == [r.item_id for r in b]
            np.testing.assert_allclose([r.score for r in a], [r.score for r in b], rtol=1e-5)

    def test_a_forgotten_user_is_gone_from_the_artifact_and_the_model_still_serves(self, fitted, tmp_path):
        before = fitted.recommend("u11", k=3, history=GROUP_B[:2])
        assert fitted.without_users(["u10", "nobody"]) and not fitted.without_users(["u10"])
        fitted.save(tmp_path / "m")
        loaded = load_model(tmp_path / "m")
        for model in [loaded, *getattr(loaded, "models_", {}).values()]:
            assert "u10" not in model.users_ and "u11" in model.users_
            if hasattr(model, "user_factors_"):
                assert len(model.user_factors_) == len(model.users_)
            if hasattr(model, "R_"):
                assert model.R_.shape[0] == len(model.users_)
        after = loaded.recommend("u11", k=3, history=GROUP_B[:2])
        assert len(after) == len(before) == 3
        recs = loaded.recommend("u10", k=3, history=GROUP_A[:2])  # now a stranger with a history
        assert len(recs) == 3 and not {r.item_id for r in recs} & set(GROUP_A[:2])

    def test_no_pickle_in_the_artifact(self, fitted, tmp_path):
        fitted.save(tmp_path / "m")
        with np.load(tmp_path / "m" / "arrays.npz", allow_pickle=False) as z:
            assert all(z[name].dtype != object for name in z.files)


class PersonalizedContract(RecommenderContract):
    """The contract plus taste checks, for models that personalise."""

    personalized = True

    def test_recommends_the_held_out_item(self, fitted, checkerboard):
        X = checkerboard.to_csr()
        hits = 0
        for user in USERS:
            history = checkerboard.items.to_ids(X[checkerboard.users.get(user)].indices)
            recs = fitted.recommend(user, k=1, history=history)
            hits += recs[0].item_id == held_out(user)
        assert hits >= 0.8 * len(USERS)

    def test_new_user_is_personalised_from_a_passed_history(self, fitted):
        recs = fitted.recommend("brand-new", k=2, history=GROUP_B[:3])
        assert {r.item_id for r in recs} <= set(GROUP_B)
        assert all(r.reason != FALLBACK_REASON for r in recs)
