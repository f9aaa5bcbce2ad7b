# SPDX-License-Identifier: Apache-2.0
"""Comparison metrics on tiny hand-checkable lists, and the popularity-fallback flag."""

import itertools

import numpy as np
import pytest

from homerec.evaluation.compare import (
    TopK, compare_ranked, dedupe, personalization, popularity_ranks, positions_in, rbo,
)
from homerec.evaluation.compare_fallback import fallback_evidence, popular_top
from homerec.evaluation.compare_report import summary_rows, verdict, write_compare_html

USERS = [f"u{n}" for n in range(10, 60)]
CATALOG = [f"i{n}" for n in range(11, 111)]
POPULARITY = {item: 1000 - 9 * n for n, item in enumerate(CATALOG)}  # i11 most popular, strictly decreasing


def personal(seed: int = 0) -> dict:
    """A different random top-10 for every user, with varied scores."""
    rng = np.random.default_rng(seed)
    return {u: [(CATALOG[i], float(s)) for i, s in zip(rng.choice(100, 10, replace=False), np.sort(rng.random(10))[::-1])]
            for u in USERS}


def fallback(scores: str) -> dict:
    """The same ten best-sellers for everyone, as Personalize writes it: no scores, zeros, or one value."""
    value = {"none": None, "zero": 0.0, "constant": 0.25}[scores]
    return {u: [(item, value) for item in CATALOG[:10]] for u in USERS}


@pytest.mark.parametrize("scores", ["none", "zero", "constant"])
def test_a_personalize_popularity_fallback_is_flagged(scores):
    r = compare_ranked(personal(), fallback(scores), k=10, popularity=POPULARITY, catalog=CATALOG)
    assert r["a"]["fallback_suspected"] is False and r["a"]["fallback_evidence"]["reasons"] == []
    b = r["b"]
    assert b["fallback_suspected"] is True
    ev = b["fallback_evidence"]
    assert ev["most_common_list_share"] == 1.0 and ev["distinct_lists"] == 1
    assert ev["most_common_list_is_popular_top_k"] is True and ev["popular_top_k_overlap"] == 1.0
    assert "100% of users get the very same list" in ev["reasons"]
    assert ev["zero_score_share"] == {"none": None, "zero": 1.0, "constant": 0.0}[scores]
    assert ev["missing_score_share"] == (1.0 if scores == "none" else 0.0)
    if scores != "none":
        assert ev["constant_score_list_share"] == 1.0
    assert b["personalization"] == 0.0 and r["a"]["personalization"] > 0.8
    assert b["top10_share"] == 1.0 and r["a"]["top10_share"] < 1.0
    assert b["novelty"] is None and b["diversity"] is None  # compare_ranked has no user counts or categories
    assert "looks like a popularity fallback" in verdict(r)[1] and "personalises" in verdict(r)[0]


def test_each_fallback_sign_flags_on_its_own():
    lists = personal(1)
    zero = {u: [(i, 0.0) for i, _ in items] for u, items in lists.items()}
    constant = {u: [(i, 0.7) for i, _ in items] for u, items in lists.items()}
    rng = np.random.default_rng(2)
    shuffled_top = {u: [(CATALOG[i], 1.0 - 0.1 * r) for r, i in enumerate(rng.permutation(10))] for u in USERS}
    for side, reasons in ((zero, ["all scores are zero", "100% of the lists give every item the same score"]),
                          (constant, ["100% of the lists give every item the same score"]),
                          (shuffled_top, ["100% of the recommended items are among the 10 most popular items"])):
        r = compare_ranked(lists, side, popularity=POPULARITY, catalog=CATALOG)
        assert r["b"]["fallback_evidence"]["reasons"] == reasons and r["b"]["fallback_suspected"]
        assert r["b"]["fallback_evidence"]["most_common_list_share"] < 0.5


def test_two_identical_sources_overlap_fully():
    a = personal()
    r = compare_ranked(a, {u: list(v) for u, v in a.items()}, popularity=POPULARITY, catalog=CATALOG)
    assert r["pair"]["overlap_at_k"] == 1.0 and r["pair"]["jaccard_at_k"] == 1.0
    assert r["pair"]["rbo"] == pytest.approx(1.0) and r["pair"]["identical_list_share"] == 1.0
    assert r["pair"]["shared_items_distribution"] == [0] * 10 + [len(USERS)]
    assert r["a"]["scores"] == r["b"]["scores"]


def test_two_disjoint_sources_overlap_nowhere():
    a = {u: [(item, None) for item in CATALOG[:10]] for u in USERS}
    b = {u: [(item, None) for item in CATALOG[10:20]] for u in USERS}
    pair = compare_ranked(a, b, popularity=POPULARITY, catalog=CATALOG)["pair"]
    assert pair["overlap_at_k"] == 0.0 and pair["jaccard_at_k"] == 0.0 and pair["rbo"] == 0.0
    assert pair["shared_items_distribution"][0] == len(USERS)


def test_overlap_and_jaccard_by_hand():
    a = {"u1": [("i1", 1.0), ("i2", 0.5), ("i3", 0.1)], "u2": [("i1", 1.0), ("i2", 0.5)]}
    b = {"u1": [("i3", 1.0), ("i4", 0.5), ("i5", 0.1)], "u2": []}
    pair = compare_ranked(a, b, k=3, users=["u1", "u2", "u3"])["pair"]
    # u1: 1 shared of 3 → overlap 1/3, Jaccard 1/5; u2: nothing from b → 0, 0; u3: both empty → left out.
    assert pair["n_users"] == 2
    assert pair["overlap_at_k"] == pytest.approx((1 / 3 + 0) / 2)
    assert pair["jaccard_at_k"] == pytest.approx((1 / 5 + 0) / 2)


def test_rbo_by_hand():
    a = np.array([[1, 2, 3], [1, 2, -1], [5, 6, 7]])
    b = np.array([[1, 3, 2], [2, 1, -1], [5, 6, 7]])
    # Row 0: X = 1, 1, 3 at depths 1..3 → 0.1/0.9 · (0.9 + 0.405 + 0.729) + 3/3 · 0.729 = 0.955.
    # Row 1: X = 0, 2 at depths 1..2 → 0.1/0.9 · (0 + 0.81) + 2/2 · 0.81 = 0.9.
    np.testing.assert_allclose(rbo(a, b, 0.9), [0.955, 0.9, 1.0])
    assert np.isnan(rbo(np.array([[-1, -1]]), np.array([[-1, -1]]))[0])


def test_positions_and_dedupe():
    a = dedupe(np.array([[4, 4, 2, -1], [7, 8, 9, 7]]))
    assert a.tolist() == [[4, -1, 2, -1], [7, 8, 9, -1]]
    b = np.array([[2, 3, 4, 5], [9, -1, -1, -1]])
    assert positions_in(a, b).tolist() == [[2, -1, 0, -1], [-1, -1, 0, -1]]


def test_personalization_by_hand_and_against_all_pairs():
    idx = np.array([[1, 2], [1, 3], [4, 5]])
    assert personalization(idx, 2) == pytest.approx(5 / 6)  # one shared item in 3 pairs: 1 − (1/3)/2
    assert personalization(np.array([[1, 2], [1, 2]]), 2) == 0.0
    assert personalization(np.array([[1, 2], [-1, -1]]), 2) is None  # one user with a list
    rng = np.random.default_rng(3)
    idx = dedupe(rng.integers(0, 15, (40, 5)))
    pairs = [len(set(idx[u][idx[u] >= 0]) & set(idx[v][idx[v] >= 0])) / 5
             for u, v in itertools.combinations(range(40), 2)]
    assert personalization(idx, 5) == pytest.approx(1 - np.mean(pairs))


def test_popularity_bias_and_coverage_by_hand():
    popularity = {"i1": 10, "i2": 5, "i3": 5, "i4": 1}  # ranks 1, 2.5, 2.5, 4
    catalog = ["i1", "i2", "i3", "i4", "i5", "i6"]  # i5, i6: no events, tied last at 5.5
    a = {"u1": [("i1", None), ("i4", None)], "u2": [("i1", None)]}
    b = {"u1": [("i2", None), ("i5", None)], "u2": [("i3", None)]}
    r = compare_ranked(a, b, k=2, popularity=popularity, catalog=catalog)
    assert r["a"]["popularity_bias"]["mean_popularity_rank"] == pytest.approx((1 + 4 + 1) / 3)
    assert r["b"]["popularity_bias"]["mean_popularity_rank"] == pytest.approx((2.5 + 5.5 + 2.5) / 3)
    assert r["a"]["catalog_coverage"] == pytest.approx(2 / 6) and r["b"]["catalog_coverage"] == pytest.approx(3 / 6)
    assert popularity_ranks(np.array([10, 5, 5, 1])).tolist() == [1, 2.5, 2.5, 4]
    assert popular_top(np.array([0, 3, 7, 3]), 3).tolist() == [2, 1, 3]


def test_accuracy_on_future_interactions():
    a = {"u1": [("i1", 1.0), ("i2", 0.5)], "u2": [("i3", 1.0), ("i4", 0.5)], "u3": [("i1", 1.0), ("i2", 0.5)]}
    b = {u: [("i5", None), ("i6", None)] for u in a}
    future = {"u1": ["i2", "i2"], "u2": ["i9"], "u3": []}  # u3 bought nothing: not counted
    r = compare_ranked(a, b, k=2, future=future, catalog=[f"i{n}" for n in range(1, 10)])
    acc = r["a"]["accuracy"]
    assert acc["n_users"] == 2
    assert acc["HR@2"] == 0.5 and acc["Precision@2"] == 0.25
    assert acc["NDCG@2"] == pytest.approx((1 / np.log2(3)) / 2)  # u1: hit at rank 2 of an ideal hit at rank 1
    assert r["b"]["accuracy"]["HR@2"] == 0.0
    assert compare_ranked(a, b, k=2)["a"]["accuracy"] is None


def test_fallback_evidence_needs_two_users_on_one_list():
    ev = fallback_evidence(np.array([[1, 2], [3, 4]]), np.full((2, 2), 0.5), np.array([9]))
    assert ev["most_common_list_share"] == 0.5 and "same list" not in " ".join(ev["reasons"])


def test_the_reference_workload_size_takes_seconds():
    import time

    rng = np.random.default_rng(0)
    n, k = 180_483, 10
    a = TopK(dedupe(rng.integers(0, 4182, (n, k))), rng.random((n, k)))
    b = TopK(np.tile(np.arange(k), (n, 1)), np.zeros((n, k)))
    from homerec.evaluation.compare import compare_topk

    truth = [np.array([i % 4182]) if i % 3 == 0 else np.zeros(0, np.int64) for i in range(n)]
    t0 = time.perf_counter()
    r = compare_topk(a, b, k, rng.integers(0, 1000, 4182).astype(float), 4182, truth)
    assert time.perf_counter() - t0 < 15  # 2–4 s on a busy 2-core machine
    assert r["b"]["fallback_suspected"] and not r["a"]["fallback_suspected"]


def test_report_from_the_result(tmp_path):
    r = compare_ranked(personal(), fallback("zero"), popularity=POPULARITY, catalog=CATALOG,
                       future={u: [CATALOG[0]] for u in USERS})
    r["verdict"] = verdict(r)
    rows = summary_rows({**r, "a": {**r["a"], "source": {"spec": "x"}}, "b": {**r["b"], "source": {"spec": "y"}}})
    assert rows[0] == ("source", "x", "y") and any(name == "NDCG@10" for name, _, _ in rows)
    html = write_compare_html({**r, "n_users": len(USERS), "users_from": "test", "since_date": None, "seconds": 0,
                               "warnings": []}, tmp_path / "c.html").read_text()
    assert html.count("data:image/png;base64,") == 3 and "looks like a popularity fallback" in html
