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
