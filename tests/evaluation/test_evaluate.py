# SPDX-License-Identifier: Apache-2.0
"""evaluate(): popularity against a model that knows the test set."""

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from homerec.data.features import ItemFeatures
from homerec.data.interactions import Interactions
from homerec.evaluation.evaluate import evaluate, recommend_for, score_model
from homerec.evaluation.split import Split, eval_users, ground_truth, temporal_split
from homerec.models.base import Recommender
from homerec.models.popularity import Popularity
from tests.evaluation import random_data


@dataclass
class Cheater(Recommender):
    """Scores each user's test items 1 and everything else 0 (it has seen the future)."""

    name = "cheater"
    cold_items = True
    future: dict = field(default_factory=dict)

    def _fit(self, X: sp.csr_matrix, data: Interactions, features: ItemFeatures | None) -> None:
        self.n_items_ = X.shape[1]

    def _score(self, user_idx: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        s = np.zeros((len(user_idx), self.n_items_), np.float32)
        for row, u in enumerate(user_idx):
            s[row, list(self.future.get(int(u), ()))] = 1.0
        return s


def _future(split: Split) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {}
    for u, i in zip(split.test.user_idx, split.test.item_idx):
        out.setdefault(int(u), set()).add(int(i))
    return out


def _fitters(split: Split):
    return {
        "popularity": lambda data, features: Popularity().fit(data, features),
        "cheater": lambda data, features: Cheater(future=_future(split)).fit(data, features),
    }


def test_cheater_beats_popularity():
    split = temporal_split(random_data())
    messages = []
    result = evaluate(_fitters(split), split, k=5, dataset="synthetic", progress=messages.append)
    cheat, pop = result.models["cheater"].metrics, result.models["popularity"].metrics
    assert cheat["HR@5"] == 1.0 and cheat["NDCG@5"] == 1.0 and cheat["Recall@5"] == 1.0
    assert pop["NDCG@5"] < cheat["NDCG@5"]
    assert result.n_eval_users == len(eval_users(split)) > 0
    assert result.models["cheater"].rec_idx.shape == (result.n_eval_users, 5)
    assert result.models["popularity"].fit_seconds > 0
    assert result.item_popularity.sum() == len(split.train)
    assert any("cheater" in m for m in messages)


def test_to_json_shape():
    split = temporal_split(random_data())
    doc = evaluate(_fitters(split), split, dataset="synthetic").to_json()
    assert set(doc) == {"dataset", "n_eval_users", "k", "models"}
    assert doc["dataset"] == "synthetic" and doc["k"] == 10
    assert set(doc["models"]["popularity"]) == {
        "HR@10", "Precision@10", "Recall@10", "NDCG@10", "MAP@10", "Coverage@10", "fit_seconds",
        "TopShare@10", "MaxShare@10", "Overlap@10", "Novelty@10", "Diversity@10",
    }
    assert doc["models"]["popularity"]["Diversity@10"] is None  # no categories given


def test_recommend_for_excludes_train_items_and_chunks_consistently():
    split = temporal_split(random_data())
    model = Popularity().fit(split.train)
    users = eval_users(split)
    idx, scores = recommend_for(model, split.train, users, 10)
    small_idx, small_scores = recommend_for(model, split.train, users, 10, chunk=3)
    assert np.array_equal(np.sort(idx, axis=1), np.sort(small_idx, axis=1))
    assert np.allclose(np.sort(scores, axis=1), np.sort(small_scores, axis=1))
    X = split.train.to_csr()
    for u, row in zip(users, idx):
        assert not set(row[row >= 0].tolist()) & set(X[u].indices.tolist())


def test_short_lists_are_padded():
    split = temporal_split(random_data(n_items=8))
    model = Popularity().fit(split.train)
    idx, scores = recommend_for(model, split.train, eval_users(split), 20)
    assert idx.shape[1] == 20 and (idx[:, -1] == -1).all() and np.isneginf(scores[:, -1]).all()


def test_score_model_matches_evaluate():
    split = temporal_split(random_data())
    users = eval_users(split)
    table = score_model(Popularity().fit(split.train), split, users, ground_truth(split, users), 10)
    result = evaluate({"p": lambda d, f: Popularity().fit(d, f)}, split)
    assert table == result.models["p"].metrics
