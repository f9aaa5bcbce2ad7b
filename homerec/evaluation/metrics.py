# SPDX-License-Identifier: Apache-2.0
"""Ranking metrics at k: pure per-user functions and one vectorised table over many users.

Conventions (the benchmark protocol): gains are binary, ranks start at 1, index -1 pads a
short list and never counts as a hit, and Recall, NDCG and MAP normalise by
``min(|relevant|, k)``. A user with no relevant items scores 0 everywhere.
"""

from collections.abc import Collection, Iterable, Sequence

import numpy as np
import scipy.sparse as sp

METRIC_NAMES = ("HR", "Precision", "Recall", "NDCG", "MAP", "Coverage")
BREADTH_NAMES = ("TopShare", "MaxShare", "Overlap", "Novelty", "Diversity")
"""Beyond-accuracy metrics at k (see `breadth_table`), reported beside `METRIC_NAMES`."""
TOP_ITEMS = 10
"""TopShare counts the slots held by this many most-recommended items."""


Relevant = Collection[int] | np.ndarray


def _as_set(relevant: Relevant) -> set[int]:
    """The relevant items as a set of ints (sets, lists and arrays alike)."""
    values = relevant.ravel().tolist() if isinstance(relevant, np.ndarray) else relevant
    return {int(x) for x in values}


def _hits(recommended: Sequence[int], relevant: Relevant, k: int) -> np.ndarray:
    """Binary hit vector of the first k recommendations (padding -1 and repeats are misses)."""
    rel = _as_set(relevant)
    seen: set[int] = set()
    out = np.zeros(k, dtype=bool)
    for rank, item in enumerate(list(recommended)[:k]):
        item = int(item)
        if item >= 0 and item in rel and item not in seen:
            out[rank] = True
        seen.add(item)
    return out


def hit_rate(recommended: Sequence[int], relevant: Relevant, k: int) -> float:
    """1.0 when any of the first k recommendations is relevant, else 0.0."""
    return float(_hits(recommended, relevant, k).any())


def precision(recommended: Sequence[int], relevant: Relevant, k: int) -> float:
    """Hits among the first k, divided by k (a short list is not rewarded)."""
    return float(_hits(recommended, relevant, k).sum()) / k


def recall(recommended: Sequence[int], relevant: Relevant, k: int) -> float:
    """Hits among the first k, divided by min(|relevant|, k)."""
    denom = min(len(_as_set(relevant)), k)
    return float(_hits(recommended, relevant, k).sum()) / denom if denom else 0.0


def ndcg(recommended: Sequence[int], relevant: Relevant, k: int) -> float:
    """DCG with binary gains and 1/log2(rank + 1) discount over the ideal DCG of min(|relevant|, k) hits."""
    denom = min(len(_as_set(relevant)), k)
    if not denom:
        return 0.0
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    return float(discount[_hits(recommended, relevant, k)].sum() / discount[:denom].sum())


def average_precision(recommended: Sequence[int], relevant: Relevant, k: int) -> float:
    """Sum of precision@rank at each hit rank, divided by min(|relevant|, k)."""
    denom = min(len(_as_set(relevant)), k)
    if not denom:
        return 0.0
    hits = _hits(recommended, relevant, k)
    prec_at = np.cumsum(hits) / np.arange(1, k + 1)
    return float(prec_at[hits].sum() / denom)


def coverage(lists: Iterable[Sequence[int]] | np.ndarray, n_items: int) -> float:
    """Distinct items (index >= 0) over all lists, divided by the catalog size."""
    if isinstance(lists, np.ndarray):
        flat = lists.ravel()
    else:
        flat = np.fromiter((int(i) for lst in lists for i in lst), dtype=np.int64)
    return float(len(np.unique(flat[flat >= 0])) / n_items) if n_items else 0.0


def hit_matrix(rec_idx: np.ndarray, truth: Sequence[np.ndarray], k: int) -> np.ndarray:
    """Boolean (users × k) matrix: is rec_idx[u, r] in truth[u] (first occurrence, -1 never)."""
    rec = np.asarray(rec_idx, dtype=np.int64)[:, :k]
    n_users, width = rec.shape
    if width < k:  # a short matrix is padded as missing items
        rec = np.hstack([rec, np.full((n_users, k - width), -1, dtype=np.int64)])
    lengths = np.fromiter((len(t) for t in truth), dtype=np.int64, count=n_users)
    flat_truth = np.concatenate([np.asarray(t, dtype=np.int64).ravel() for t in truth]) if n_users else np.zeros(0, np.int64)
    span = int(max(rec.max(initial=-1), flat_truth.max(initial=-1))) + 2
    truth_keys = np.unique(np.repeat(np.arange(n_users), lengths) * span + flat_truth)
    rec_keys = np.arange(n_users)[:, None] * span + rec
    hits = np.isin(rec_keys, truth_keys) & (rec >= 0)
    if hits.any():  # a repeated item counts once, at its first rank
        order = np.argsort(rec, axis=1, kind="stable")
        srt = np.take_along_axis(rec, order, axis=1)
        repeat = np.zeros_like(hits)
        repeat_sorted = np.zeros_like(hits)
        repeat_sorted[:, 1:] = srt[:, 1:] == srt[:, :-1]
        np.put_along_axis(repeat, order, repeat_sorted, axis=1)
        hits &= ~repeat
    return hits


def _n_relevant(truth: Sequence[np.ndarray]) -> np.ndarray:
    """Distinct relevant items per user, in one vectorised pass."""
    n = len(truth)
    lengths = np.fromiter((len(t) for t in truth), dtype=np.int64, count=n)
    if n == 0 or lengths.sum() == 0:
        return np.zeros(n, dtype=np.int64)
    flat = np.concatenate([np.asarray(t, dtype=np.int64).ravel() for t in truth])
    span = int(flat.max(initial=0)) + 1
    keys = np.unique(np.repeat(np.arange(n, dtype=np.int64), lengths) * span + flat)
    return np.bincount(keys // span, minlength=n)


def ndcg_per_user(rec_idx: np.ndarray, truth: Sequence[np.ndarray], k: int) -> np.ndarray:
    """NDCG@k of each user's list (the values `metric_table` averages), for paired comparisons."""
    hits = hit_matrix(rec_idx, truth, k)
    denom = np.minimum(_n_relevant(truth), k)
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.concatenate([[0.0], np.cumsum(discount)])[denom]
    return np.where(denom > 0, (hits * discount).sum(axis=1) / np.where(ideal > 0, ideal, 1.0), 0.0)


def metric_table(rec_idx: np.ndarray, truth: Sequence[np.ndarray], k: int, n_items: int) -> dict[str, float]:
    """Means over users of HR, Precision, Recall, NDCG and MAP at k, and catalog Coverage at k.

    Args:
        rec_idx: (users × >= k) item indices, best first, -1 for no item.
        truth: per user, the relevant item indices (a set: repeats count once).
        k: cut-off.
        n_items: catalog size (the denominator of Coverage).
    """
    rec = np.asarray(rec_idx, dtype=np.int64)[:, :k]
    if rec.shape[0] != len(truth):
        raise ValueError(f"{rec.shape[0]} recommendation rows but {len(truth)} ground-truth sets")
    names = [f"{m}@{k}" for m in METRIC_NAMES]
    if rec.shape[0] == 0:
        return dict.fromkeys(names, 0.0)
    hits = hit_matrix(rec, truth, k)
    denom = np.minimum(_n_relevant(truth), k)
    safe = np.maximum(denom, 1)
    n_hits = hits.sum(axis=1)
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.concatenate([[0.0], np.cumsum(discount)])[denom]
    dcg = (hits * discount).sum(axis=1)
    prec_at = np.cumsum(hits, axis=1) / np.arange(1, k + 1)
    values = (
        (n_hits > 0).mean(),
        (n_hits / k).mean(),
        np.where(denom > 0, n_hits / safe, 0.0).mean(),
        np.where(denom > 0, dcg / np.where(ideal > 0, ideal, 1.0), 0.0).mean(),
        np.where(denom > 0, (prec_at * hits).sum(axis=1) / safe, 0.0).mean(),
        coverage(rec, n_items),
    )
    return {name: float(v) for name, v in zip(names, values)}


# ---- beyond accuracy: breadth, personalisation, novelty, diversity -------------------------------

def _item_list_counts(rec: np.ndarray) -> np.ndarray:
    """Per item index, in how many lists (rows) it appears; a repeat within a row counts once."""
    srt = np.sort(rec, axis=1)
    first = np.ones(srt.shape, dtype=bool)
    first[:, 1:] = srt[:, 1:] != srt[:, :-1]
    items = srt[first & (srt >= 0)]
    return np.bincount(items) if len(items) else np.zeros(0, np.int64)


def top_items_share(rec_idx: np.ndarray, n_top: int = TOP_ITEMS) -> float:
    """Share of all filled slots held by the `n_top` most recommended items (1.0: everyone, same list)."""
    counts = _item_list_counts(np.asarray(rec_idx, dtype=np.int64))
    total = counts.sum()
    return float(np.sort(counts)[::-1][:n_top].sum() / total) if total else 0.0


def max_item_share(rec_idx: np.ndarray) -> float:
    """The largest share of lists (rows with at least one item) that one item appears in."""
    rec = np.asarray(rec_idx, dtype=np.int64)
    n_lists = int((rec >= 0).any(axis=1).sum())
    counts = _item_list_counts(rec)
    return float(counts.max() / n_lists) if n_lists and len(counts) else 0.0


def mean_list_overlap(rec_idx: np.ndarray, k: int) -> float | None:
    """Mean over pairs of different users (with lists) of |L_u ∩ L_v| / k; None below two lists.

    Exact in O(n·k): Σ_{u<v} |L_u ∩ L_v| = Σ_i c_i (c_i − 1) / 2 where c_i counts the lists
    holding item i. 1 − this is the "personalization" of the recommender literature.
    """
    rec = np.asarray(rec_idx, dtype=np.int64)
    n = int((rec >= 0).any(axis=1).sum())
    if n < 2:
        return None
    c = _item_list_counts(rec).astype(np.float64)
    return float((c * (c - 1) / 2).sum() / (n * (n - 1) / 2) / k)


def novelty(rec_idx: np.ndarray, item_users: np.ndarray, n_users: int) -> float:
    """Mean self-information −log2(p_i) of the recommended items, p_i = item_users[i] / n_users.

    `item_users` counts the training users of each item; an item no training user has is
    counted as one user's (the largest information the data can show).
    """
    rec = np.asarray(rec_idx, dtype=np.int64)
    items = rec[rec >= 0]
    if len(items) == 0 or n_users <= 0:
        return 0.0
    p = np.maximum(np.asarray(item_users, dtype=np.float64)[items], 1.0) / n_users
    return float(-np.log2(np.minimum(p, 1.0)).mean())


def intra_list_diversity(rec_idx: np.ndarray, categories: sp.csr_matrix | None) -> float | None:
    """Mean over lists of the mean category distance between two of its items (None: no categories).

    `categories` is an (items × categories) indicator; the distance of two items is one minus
    the Jaccard similarity of their category sets, and pairs with an item without categories
    are left out (as are lists with no such pair).
    """
    if categories is None or categories.shape[1] == 0:
        return None
    rec = np.asarray(rec_idx, dtype=np.int64)
    C = sp.csr_matrix(categories, dtype=np.float32)
    C.data[:] = 1.0
    sizes = np.asarray(C.sum(axis=1)).ravel()
    n, k = rec.shape
    total = np.zeros(n)
    pairs = np.zeros(n)
    for a in range(k):
        for b in range(a + 1, k):
            ia, ib = rec[:, a], rec[:, b]
            ok = (ia >= 0) & (ib >= 0) & (ia != ib)
            ok[ok] &= (sizes[ia[ok]] > 0) & (sizes[ib[ok]] > 0)
            if not ok.any():
                continue
            inter = np.asarray(C[ia[ok]].multiply(C[ib[ok]]).sum(axis=1)).ravel()
            union = sizes[ia[ok]] + sizes[ib[ok]] - inter
            total[ok] += 1.0 - inter / union
            pairs[ok] += 1
    has = pairs > 0
    return float((total[has] / pairs[has]).mean()) if has.any() else None


def breadth_table(
    rec_idx: np.ndarray, k: int, item_users: np.ndarray, n_users: int, categories: sp.csr_matrix | None = None,
) -> dict[str, float | None]:
    """The beyond-accuracy metrics at k of a (users × >= k) list matrix, keyed like metric_table.

    TopShare: share of slots held by the 10 most recommended items; MaxShare: the largest share
    of lists one item is in; Overlap: mean pairwise list overlap (`mean_list_overlap`);
    Novelty: mean self-information in bits (`novelty`); Diversity: intra-list category
    diversity (`intra_list_diversity`, None without categories).
    """
    rec = np.asarray(rec_idx, dtype=np.int64)[:, :k]
    values = (top_items_share(rec), max_item_share(rec), mean_list_overlap(rec, k),
              novelty(rec, item_users, n_users), intra_list_diversity(rec, categories))
    return {f"{m}@{k}": v for m, v in zip(BREADTH_NAMES, values)}
