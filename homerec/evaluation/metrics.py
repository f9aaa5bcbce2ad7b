# SPDX-License-Identifier: Apache-2.0
"""Ranking metrics at k: pure per-user functions and one vectorised table over many users.

Conventions (the benchmark protocol): gains are binary, ranks start at 1, index -1 pads a
short list and never counts as a hit, and Recall, NDCG and MAP normalise by
``min(|relevant|, k)``. A user with no relevant items scores 0 everywhere.
"""

from collections.abc import Collection, Iterable, Sequence

import numpy as np

METRIC_NAMES = ("HR", "Precision", "Recall", "NDCG", "MAP", "Coverage")


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
    n_rel = np.fromiter((len(np.unique(t)) for t in truth), dtype=np.int64, count=len(truth))
    denom = np.minimum(n_rel, k)
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
