# SPDX-License-Identifier: Apache-2.0
"""Beyond-accuracy metrics: hand-computed cases, and the bootstrap's verdicts."""

import itertools

import numpy as np
import pytest
import scipy.sparse as sp

from homerec.evaluation.bootstrap import paired_difference
from homerec.evaluation.metrics import (
    breadth_table, intra_list_diversity, max_item_share, mean_list_overlap, metric_table, ndcg_per_user, novelty,
    top_items_share,
)

LISTS = np.array([[0, 1, 2], [0, 3, 4], [0, 1, -1]])


def test_top_share_counts_slots_of_the_most_listed_items():
    # slots: item 0 three times, item 1 twice, 2, 3, 4 once: 8 filled slots
    assert top_items_share(LISTS, n_top=1) == pytest.approx(3 / 8)
    assert top_items_share(LISTS, n_top=2) == pytest.approx(5 / 8)
    assert top_items_share(LISTS) == 1.0  # ten items hold everything here
    assert top_items_share(np.array([[0, 0, 1]]), n_top=1) == pytest.approx(1 / 2)  # a repeat counts once


def test_max_share_is_the_widest_item():
    assert max_item_share(LISTS) == 1.0
    assert max_item_share(np.array([[0, 1], [2, 3], [-1, -1]])) == 0.5  # the empty list does not count


def test_overlap_is_the_mean_pairwise_intersection_over_k():
    pairs = [len(set(a[a >= 0]) & set(b[b >= 0])) / 3 for a, b in itertools.combinations(LISTS, 2)]
    assert mean_list_overlap(LISTS, 3) == pytest.approx(np.mean(pairs))
    assert mean_list_overlap(np.array([[1, 2]]), 2) is None


def test_novelty_is_mean_self_information():
    users = np.array([8, 4, 2, 1, 0])
    got = novelty(np.array([[0, 1], [2, 4]]), users, n_users=8)
    assert got == pytest.approx(np.mean([0.0, 1.0, 2.0, 3.0]))  # item 4 has no user: counted as one


def test_diversity_by_category_jaccard():
    C = sp.csr_matrix(np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1], [0, 0, 0]], dtype=np.float32))
    # list [0, 1, 2]: d(0,1)=1-1/2, d(0,2)=1, d(1,2)=1; item 3 has no category and is skipped
    assert intra_list_diversity(np.array([[0, 1, 2, 3]]), C) == pytest.approx((0.5 + 1 + 1) / 3)
    assert intra_list_diversity(np.array([[0, 0, 3]]), C) is None
    assert intra_list_diversity(LISTS, None) is None


def test_breadth_table_keys_and_ndcg_per_user_agrees_with_the_table():
    rng = np.random.default_rng(0)
    rec = rng.integers(0, 30, (50, 10))
    truth = [rng.choice(30, rng.integers(1, 5), replace=False) for _ in range(50)]
    assert ndcg_per_user(rec, truth, 10).mean() == pytest.approx(metric_table(rec, truth, 10, 30)["NDCG@10"])
    table = breadth_table(rec, 10, np.ones(30), 10)
    assert set(table) == {"TopShare@10", "MaxShare@10", "Overlap@10", "Novelty@10", "Diversity@10"}


def test_bootstrap_tells_a_real_difference_from_noise():
    rng = np.random.default_rng(1)
    base = rng.random(400)
    better = paired_difference(base + 0.05, base)
    assert better.better and not better.worse and better.low > 0
    noise = paired_difference(base + rng.normal(0, 0.05, 400), base)
    assert not noise.better and not noise.worse and noise.low < 0 < noise.high
    assert paired_difference(base, base + 0.05).worse
