# SPDX-License-Identifier: Apache-2.0
"""Popularity and trending models."""

import math

from homerec.models.popularity import Popularity, Trending
from tests.models.contract import RecommenderContract


class TestPopularity(RecommenderContract):
    def make(self):
        return Popularity()


class TestTrending(RecommenderContract):
    def make(self):
        return Trending(half_life_days=7.0)


def test_trending_prefers_recent_items(checkerboard):
    recent = Trending(half_life_days=1.0).fit(checkerboard)
    counts = Trending(half_life_days=math.inf).fit(checkerboard)
    assert recent.pop_.argmax() != counts.pop_.argmax() or recent.pop_.max() < counts.pop_.max()


def test_trending_window_keeps_only_recent_events(checkerboard):
    model = Trending(half_life_days=0.0, window_days=2.0).fit(checkerboard)
    latest = checkerboard.max_ts()
    recent_items = set(checkerboard.item_idx[checkerboard.ts >= latest - 2 * 86400].tolist())
    ranked = set(map(int, (model.pop_ >= 1.0).nonzero()[0]))
    assert ranked == recent_items
