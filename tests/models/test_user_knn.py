# SPDX-License-Identifier: Apache-2.0
"""User-user neighbours."""

import numpy as np
import polars as pl
import pytest

from homerec.data.interactions import Interactions
from homerec.errors import ConfigError
from homerec.models.one_user import OneHistory
from homerec.models.user_knn import UserKNN
from tests.models.contract import PersonalizedContract



class TestUserKNN(PersonalizedContract):
    def make(self):
        return UserKNN(k_neighbors=10)


@pytest.mark.parametrize("weighting", ["cosine", "tfidf", "bm25"])
class TestUserKNNWeightings(PersonalizedContract):
    @pytest.fixture(autouse=True)
    def _weighting(self, weighting):
        self.weighting = weighting

    def make(self):
        return UserKNN(k_neighbors=5, weighting=self.weighting, shrink=1.0, exponent=2.0)


def _loner_data() -> Interactions:
    """u1 alone bought x, y, z; u2 and u3 share a and b."""
    rows = [("u1", "x"), ("u1", "y"), ("u1", "z"), ("u2", "a"), ("u2", "b"), ("u3", "a"), ("u3", "b"), ("u3", "c")]
    frame = pl.DataFrame(
        [(u, i, 1_700_000_000 + n, "purchase") for n, (u, i) in enumerate(rows)],
        schema=["user_id", "item_id", "ts", "event_type"], orient="row",
    )
    return Interactions.from_frame(frame)


def test_a_user_is_not_their_own_neighbour():
    data = _loner_data()
    model = UserKNN(k_neighbors=5).fit(data)
    row = OneHistory.of(data.items, ["x", "y"]).row(len(data.items))
    z = data.items.get("z")
    stranger = model._score(np.array([-1]), row)[0]
    assert stranger[z] > 0  # u1's row votes for z when the history is someone else's
    itself = model._score(np.array([data.users.get("u1")]), row)[0]
    assert itself[z] == 0.0  # ... but not when the history is u1's own
    assert np.all(itself == 0.0)
    u2 = model._score(np.array([data.users.get("u2")]),
                      OneHistory.of(data.items, ["a", "b"]).row(len(data.items)))[0]
    assert u2[data.items.get("c")] > 0  # u3 is u2's neighbour


def test_k_neighbors_bounds_the_voters(rng):
    import scipy.sparse as sp

    X = sp.random(200, 50, density=0.2, format="csr", random_state=1, dtype=np.float32)
    frame = pl.DataFrame({
        "user_id": [f"u{r}" for r in X.nonzero()[0]], "item_id": [f"i{c}" for c in X.nonzero()[1]],
        "ts": np.arange(X.nnz) + 1_700_000_000,
    })
    data = Interactions.from_frame(frame)
    few = UserKNN(k_neighbors=1).fit(data)
    many = UserKNN(k_neighbors=500).fit(data)
    hist = data.to_csr()[:20]
    s_few = few._score(np.arange(20), hist)
    s_many = many._score(np.arange(20), hist)
    assert ((s_few > 0).sum(axis=1) <= (s_many > 0).sum(axis=1)).all()
    assert ((s_few > 0).sum(axis=1) <= np.diff(data.to_csr().indptr).max()).all()


def test_bad_weighting_is_a_config_error(checkerboard):
    with pytest.raises(ConfigError):
        UserKNN(weighting="jaccard").fit(checkerboard)


def test_implicit_and_scipy_neighbours_agree(monkeypatch):
    import scipy.sparse as sp

    from homerec.models import user_knn

    rng = np.random.default_rng(2)
    n = 5_000
    frame = pl.DataFrame({
        "user_id": [f"u{x}" for x in rng.integers(0, 600, n)],
        "item_id": [f"i{x}" for x in rng.zipf(1.5, n) % 300],
        "ts": np.arange(n) + 1_700_000_000,
    })
    data = Interactions.from_frame(frame)
    model = UserKNN(k_neighbors=20, shrink=2.0).fit(data)
    users = np.arange(100)
    hist = data.to_csr()[users]
    assert user_knn.implicit_scorer_available()
    fast = model.score(users, hist)
    monkeypatch.setattr(user_knn, "USE_IMPLICIT", False)
    slow = model.score(users, hist)
    np.testing.assert_allclose(fast, slow, rtol=1e-4, atol=1e-5)
    assert sp.csr_matrix(fast).nnz > 0
