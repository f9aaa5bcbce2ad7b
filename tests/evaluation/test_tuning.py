# SPDX-License-Identifier: Apache-2.0
"""Grid search on the validation split."""

import math

import numpy as np
import pytest

from homerec.evaluation.split import temporal_split
from homerec.evaluation.tuning import grid_search, validation_split
from homerec.models.popularity import Trending
from tests.evaluation import DAY, T0, make_data


def _shifting_taste():
    """Old favourites (i11-i15) sell for 70 days, then new items (i16-i20) take over."""
    rng = np.random.default_rng(1)
    rows = []
    for n in range(4000):
        day = int(rng.integers(0, 100))
        pool = range(11, 16) if day < 70 else range(16, 21)
        rows.append((f"u{rng.integers(10, 210)}", f"i{rng.choice(pool)}", T0 + day * DAY + n))
    return make_data(rows)


def _make(params):
    return lambda data, features: Trending(**params).fit(data, features)


def test_recent_items_win_with_a_short_half_life():
    train = temporal_split(_shifting_taste()).train
    grid = [{"half_life_days": math.inf}, {"half_life_days": 3.0}]
    best, scores = grid_search(_make, grid, train)
    assert best == {"half_life_days": 3.0}
    assert [p for p, _ in scores] == grid
    assert scores[1][1] > scores[0][1]


def test_validation_split_uses_train_only():
    data = _shifting_taste()
    outer = temporal_split(data)
    inner = validation_split(outer.train)
    assert inner.test.max_ts() < outer.cutoff
    assert inner.cutoff == int(np.ceil(np.quantile(outer.train.ts, 0.9)))


def test_bad_grid_and_metric():
    train = temporal_split(_shifting_taste()).train
    with pytest.raises(ValueError):
        grid_search(_make, [], train)
    with pytest.raises(ValueError, match="NDCG@10"):
        grid_search(_make, [{"half_life_days": 1.0}], train, metric="NDCG@5")
