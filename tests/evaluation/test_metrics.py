# SPDX-License-Identifier: Apache-2.0
"""Metrics: hand-computed cases and the vectorised table against the per-user functions."""

import numpy as np
import pytest

from homerec.evaluation.metrics import (
    average_precision,
    coverage,
    hit_rate,
    metric_table,
    ndcg,
    precision,
    recall,
)

K = 10
IDCG10 = sum(1 / np.log2(r + 1) for r in range(1, 11))  # 4.543559...


def all_metrics(rec, truth, k=K):
    return (hit_rate(rec, truth, k), precision(rec, truth, k), recall(rec, truth, k),
            ndcg(rec, truth, k), average_precision(rec, truth, k))


def test_perfect_list():
    rec = list(range(10))
    assert all_metrics(rec, set(range(10))) == pytest.approx((1, 1, 1, 1, 1))


def test_no_hits():
    assert all_metrics(list(range(10)), {50, 51}) == (0, 0, 0, 0, 0)


def test_hits_at_ranks_1_and_3_with_two_relevant():
    rec = [7, 100, 9, 101, 102, 103, 104, 105, 106, 107]
    hr, p, r, n, ap = all_metrics(rec, {7, 9})
    assert (hr, p, r) == pytest.approx((1.0, 0.2, 1.0))
    assert n == pytest.approx((1 + 1 / np.log2(4)) / (1 + 1 / np.log2(3)))  # 0.91972
    assert n == pytest.approx(0.919721, abs=1e-6)
    assert ap == pytest.approx((1 / 1 + 2 / 3) / 2)


def test_hits_at_ranks_1_and_3_with_twenty_relevant():
    rec = [7, 100, 9, 101, 102, 103, 104, 105, 106, 107]
    truth = np.array([7, 9] + list(range(200, 218)))
    hr, p, r, n, ap = all_metrics(rec, truth)
    assert (hr, p, r) == pytest.approx((1.0, 0.2, 0.2))  # recall normalises by min(20, 10)
    assert n == pytest.approx(1.5 / IDCG10)
    assert n == pytest.approx(0.330137, abs=1e-6)
    assert ap == pytest.approx((1 + 2 / 3) / 10)


def test_padding_is_never_a_hit_and_short_lists_are_not_rewarded():
    rec = [3, -1, -1, -1, -1, -1, -1, -1, -1, -1]
    assert all_metrics(rec, {3}) == pytest.approx((1, 0.1, 1.0, 1.0, 1.0))
    assert all_metrics([-1] * 10, {3}) == (0, 0, 0, 0, 0)
    assert precision([3], {3}, K) == pytest.approx(0.1)
    table = metric_table(np.array([rec]), [np.array([3])], K, n_items=20)
    assert table["Precision@10"] == pytest.approx(0.1)
    assert table["NDCG@10"] == pytest.approx(1.0)
    assert table["Coverage@10"] == pytest.approx(1 / 20)


def test_repeated_item_counts_once():
    assert precision([5, 5, 5], {5}, 3) == pytest.approx(1 / 3)
    table = metric_table(np.array([[5, 5, 5]]), [np.array([5])], 3, n_items=10)
    assert table["Precision@3"] == pytest.approx(1 / 3)


def test_coverage():
    assert coverage([[1, 2, -1], [2, 3]], 10) == pytest.approx(0.3)
    assert coverage(np.array([[1, 2], [2, -1]]), 4) == pytest.approx(0.5)


def test_metric_table_agrees_with_per_user_functions():
    rng = np.random.default_rng(0)
    n_users, n_items, k = 60, 40, 10
    rec = np.stack([rng.permutation(n_items)[:k] for _ in range(n_users)])
    rec[rng.random((n_users, k)) < 0.1] = -1  # some padding
    truth = [rng.choice(n_items, rng.integers(1, 25), replace=False) for _ in range(n_users)]
    table = metric_table(rec, truth, k, n_items)
    funcs = {"HR": hit_rate, "Precision": precision, "Recall": recall, "NDCG": ndcg, "MAP": average_precision}
    for name, fn in funcs.items():
        expected = np.mean([fn(r.tolist(), set(t.tolist()), k) for r, t in zip(rec, truth)])
        assert table[f"{name}@{k}"] == pytest.approx(expected), name
    assert table[f"Coverage@{k}"] == pytest.approx(coverage(rec, n_items))
    assert list(table) == [f"{m}@{k}" for m in ("HR", "Precision", "Recall", "NDCG", "MAP", "Coverage")]


def test_metric_table_uses_only_the_first_k_columns():
    rec = np.array([[1, 2, 3, 4]])
    assert metric_table(rec, [np.array([4])], 3, 10)["HR@3"] == 0.0
