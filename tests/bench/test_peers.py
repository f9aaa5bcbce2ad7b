# SPDX-License-Identifier: Apache-2.0
"""Smoke tests of the benchmark peers on a small synthetic two-group matrix (no shared data)."""

import os

import numpy as np
import polars as pl
import pytest

from bench.peers import PEERS, PeerEASE, PeerRecentPopularity, fitter
from homerec.data.features import ItemFeatures
from homerec.data.ids import IdMap
from homerec.data.interactions import Interactions

DAY = 86400
GROUP_A = [f"i{n}" for n in range(11, 19)]
GROUP_B = [f"i{n}" for n in range(19, 27)]
COLD = "i27"  # in the catalog, never interacted with
USERS = [f"u{n}" for n in range(10, 70)]


def held_out(n: int) -> str:
    group = GROUP_A if n % 2 == 0 else GROUP_B
    return group[n % len(group)]


@pytest.fixture(scope="module")
def data() -> Interactions:
    """Even users buy group A, odd users group B, each minus one held-out item."""
    rows = []
    for n in range(10, 70):
        group = GROUP_A if n % 2 == 0 else GROUP_B
        for j, item in enumerate(group):
            if item != held_out(n):
                rows.append((f"u{n}", item, 1_700_000_000 + (n + 3 * j) * DAY, "purchase"))
    frame = pl.DataFrame(rows, schema=["user_id", "item_id", "ts", "event_type"], orient="row")
    return Interactions.from_frame(frame, items=IdMap(GROUP_A + GROUP_B + [COLD], "item"))


@pytest.fixture(scope="module")
def features(data: Interactions) -> ItemFeatures:
    ids = GROUP_A + GROUP_B + [COLD]
    cat = ["Cleaning" if i in GROUP_A or i == COLD else "Drinks" for i in ids]
    return ItemFeatures.from_frame(pl.DataFrame({"item_id": ids, "CATEGORY": cat}), data.items)


@pytest.mark.parametrize("name", list(PEERS))
def test_peer_fits_and_recommends(name: str, data: Interactions, features: ItemFeatures) -> None:
    if name == "lightfm" and not os.environ.get("CI"):  # CI (scripts/setup.sh dev) always builds it
        pytest.importorskip("lightfm", reason="LightFM is a bench-only peer: bash bench/install_lightfm.sh")
    cls, grid = PEERS[name]
    assert grid and all(isinstance(p, dict) for p in grid)
    small = {"K": 10, "epochs": 5, "factors": 8, "no_components": 8, "iterations": 5}
    params = {**grid[0], **{k: v for k, v in small.items() if k in cls.__dataclass_fields__}}
    model = fitter(cls, params)(data, features)
    X = data.to_csr()
    users = np.arange(data.n_users)
    idx, vals, cold = model.recommend_batch(users, X, 3, exclude=X)
    assert idx.shape == (data.n_users, 3) and not cold.any()
    cold_idx = data.items.get(COLD)
    for u in users:
        got = idx[u][idx[u] >= 0]
        assert not set(got) & set(X[u].indices), "seen items must be excluded"
        assert cold_idx not in got, "peers cannot recommend items without training events"
    if name not in ("popularity", "recent-popularity"):  # personalised peers mostly find the held-out item
        hits = [data.items.get(held_out(int(data.users.ids[u][1:]))) in idx[u] for u in users]
        assert np.mean(hits) >= 0.6  # chance: 3 of 9 unseen items


def test_unknown_user_scored_from_history(data: Interactions, features: ItemFeatures) -> None:
    X = data.to_csr()
    for name in ("als", "bm25", "ease"):
        cls, grid = PEERS[name]
        params = {**grid[0], **({"K": 10} if name == "bm25" else {})}
        model = fitter(cls, params)(data, features)
        scores = model.score(np.array([-1]), X[[0]])
        assert scores.shape == (1, data.n_items) and np.isfinite(scores[0, X[0].indices]).all()


def test_ease_refuses_large_catalogs() -> None:
    assert PeerEASE.skip_reason(20_833) == "not run (20,833 items > 10,000)"
    assert PeerEASE.skip_reason(10_000) is None


def test_recent_popularity_counts_only_the_window(data: Interactions) -> None:
    model = PeerRecentPopularity(window_days=1).fit(data)
    last = data.item_idx[data.ts >= data.max_ts() - DAY]
    assert set(np.flatnonzero(model.pop_ >= 1.0)) == set(last)


def test_ease_matches_the_textbook_inverse(data: Interactions) -> None:
    model = PeerEASE(regularization=5.0).fit(data)
    X = (data.to_csr()[:, model.cols_] > 0).astype(np.float64)
    P = np.linalg.inv((X.T @ X).toarray() + 5.0 * np.eye(X.shape[1]))
    B = P / -np.diag(P)
    np.fill_diagonal(B, 0.0)
    np.testing.assert_allclose(model.B_, B, rtol=1e-4, atol=1e-6)
