# SPDX-License-Identifier: Apache-2.0
"""Does one side look like a popularity fallback? The signs a non-personalising recommender shows.

A Personalize campaign that learned nothing useful for its users (the seed system's case)
serves the popularity list: the same items for most users, with scores that are all zero or
constant. Each sign below is measured and compared with a documented threshold; a side is
flagged when any sign crosses its threshold, and the evidence says which and by how much.

Thresholds:

- `SAME_LIST_SHARE`: the single most common list (same items in the same order) is served
  to at least half of the users with a list;
- `ZERO_SCORE_SHARE`: at least 90% of the scores given are exactly 0;
- `CONSTANT_SCORE_SHARE`: at least 90% of the lists with two or more scores hold one score
  value throughout;
- `POPULAR_OVERLAP`: on average at least 80% of a list's items are among the k items with
  the most events before the cut-off.

Missing scores are reported but flag nothing on their own: Personalize's popularity recipe
writes none, but a file may simply have been exported without them.
"""

import numpy as np

SAME_LIST_SHARE = 0.5
ZERO_SCORE_SHARE = 0.9
CONSTANT_SCORE_SHARE = 0.9
POPULAR_OVERLAP = 0.8
THRESHOLDS = {"most_common_list_share": SAME_LIST_SHARE, "zero_score_share": ZERO_SCORE_SHARE,
              "constant_score_list_share": CONSTANT_SCORE_SHARE, "popular_top_k_overlap": POPULAR_OVERLAP}


def popular_top(counts: np.ndarray, k: int) -> np.ndarray:
    """Codes of the k items with the most events (items without events never), ties by lower code."""
    counts = np.asarray(counts)
    order = np.argsort(-counts, kind="stable")[:k]
    return order[counts[order] > 0].astype(np.int64)


def _most_common(lists: np.ndarray) -> tuple[int, int, np.ndarray]:
    """Rows equal to the most common row, the number of distinct rows, and that row.

    Rows are told apart by a 64-bit hash of their items and ranks (a collision among even
    millions of rows has a probability below 1e-7).
    """
    if len(lists) == 0:
        return 0, 0, np.zeros(0, np.int64)
    weights = np.random.default_rng(0).integers(1, 2**63, lists.shape[1], dtype=np.uint64) | np.uint64(1)
    with np.errstate(over="ignore"):
        h = ((lists.astype(np.uint64) + np.uint64(1)) * weights).sum(axis=1, dtype=np.uint64)
        h ^= h >> np.uint64(31)
        h *= np.uint64(0xBF58476D1CE4E5B9)
    values, first, counts = np.unique(h, return_index=True, return_counts=True)
    best = int(np.argmax(counts))
    return int(counts[best]), int(len(values)), lists[first[best]]


def _score_signs(lists: np.ndarray, scores: np.ndarray) -> dict:
    """Missing, zero and per-list constant score shares."""
    present = lists >= 0
    given = present & np.isfinite(scores)
    n_given = given.sum(axis=1)
    hi = np.where(given, scores, -np.inf).max(axis=1, initial=-np.inf)
    lo = np.where(given, scores, np.inf).min(axis=1, initial=np.inf)
    eligible = n_given >= 2
    return {
        "missing_score_share": float(1.0 - given.sum() / present.sum()) if present.any() else None,
        "zero_score_share": float((scores[given] == 0).mean()) if given.any() else None,
        "constant_score_list_share": float((hi == lo)[eligible].mean()) if eligible.any() else None,
    }


def fallback_evidence(idx: np.ndarray, scores: np.ndarray, popular: np.ndarray) -> dict:
    """The fallback signs of one side, its verdict (`fallback_suspected`) and the reasons in words.

    Args:
        idx: (users × k) item codes, -1 for no item, no item twice in a row.
        scores: (users × k) scores, NaN where none was given.
        popular: codes of the most popular items (`popular_top`).
    """
    rows = (idx >= 0).any(axis=1)
    lists, sc = idx[rows], scores[rows]
    n_common, distinct, common = _most_common(lists)
    share = n_common / len(lists) if len(lists) else 0.0
    common_items = set(common[common >= 0].tolist())
    lengths = (lists >= 0).sum(axis=1)
    in_popular = np.isin(lists, popular) & (lists >= 0)
    denom = np.maximum(np.maximum(lengths, len(popular)), 1)
    evidence = {
        "users_with_list": int(rows.sum()),
        "most_common_list_share": share if len(lists) else None,
        "distinct_lists": distinct,
        "most_common_list_is_popular_top_k": bool(common_items) and common_items == set(popular.tolist()),
        **_score_signs(lists, sc),
        "popular_top_k_overlap": float((in_popular.sum(axis=1) / denom).mean()) if len(lists) and len(popular) else None,
        "thresholds": dict(THRESHOLDS),
    }
    reasons = []
    if n_common >= 2 and share >= SAME_LIST_SHARE:
        reasons.append(f"{share:.0%} of users get the very same list")
    if (z := evidence["zero_score_share"]) is not None and z >= ZERO_SCORE_SHARE:
        reasons.append("all scores are zero" if z == 1 else f"{z:.0%} of the scores are zero")
    if (c := evidence["constant_score_list_share"]) is not None and c >= CONSTANT_SCORE_SHARE:
        reasons.append(f"{c:.0%} of the lists give every item the same score")
    if (o := evidence["popular_top_k_overlap"]) is not None and o >= POPULAR_OVERLAP:
        reasons.append(f"{o:.0%} of the recommended items are among the {len(popular)} most popular items")
    evidence["reasons"] = reasons
    evidence["fallback_suspected"] = bool(reasons)
    return evidence
