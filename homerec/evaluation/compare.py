# SPDX-License-Identifier: Apache-2.0
"""Compare two recommenders' top-k lists for the same users: pure, vectorised metrics.

Lists arrive either as a mapping ``user id → [(item id, score or None), …]`` (best first),
or already encoded as a `TopK`: an (users × k) matrix of item codes (-1: no item) and one of
scores (NaN: no score), row u of both sides being the same user. Item codes index one
vocabulary shared by both sides, the popularity counts and the future interactions.

Definitions (per user u, lists A and B, |·| counts distinct items):

- overlap@k = |A ∩ B| / max(|A|, |B|) (that is / k for full lists; identical short lists score 1);
- Jaccard@k = |A ∩ B| / |A ∪ B|;
- RBO: rank-biased overlap with p = 0.9, **extrapolated** (Webber et al. 2010, eq. 32, for two
  lists of equal depth L = max(|A|, |B|); the shorter list counts as padded with items that
  match nothing): ``X_L/L · p^L + (1-p)/p · Σ_{d≤L} X_d/d · p^d`` with X_d = |A[:d] ∩ B[:d]|.
  Identical lists score 1, disjoint ones 0;
- personalization = 1 − mean over pairs of different users of |L_u ∩ L_v| / k, computed
  exactly from item counts: Σ_u<v |L_u ∩ L_v| = Σ_i c_i (c_i − 1) / 2 where c_i is the
  number of lists holding item i (O(n·k), not O(n²)); with full lists it is 1 − the mean
  cosine similarity;
- popularity rank: rank of an item by events before the cut-off, 1 = most popular, ties share
  their average rank, items without events tie last;
- catalog coverage: distinct recommended catalog items / catalog size;
- top-10 share, novelty and diversity: `homerec.evaluation.metrics.top_items_share`,
  `novelty` (self-information of distinct users before the cut-off) and
  `intra_list_diversity` (by the catalog's category column);
- HR / Precision / NDCG@k (and Recall, MAP) from `homerec.evaluation.metrics` over users with
  at least one future interaction, each item counted once.
Users whose lists are both empty are left out of the pair means.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from homerec.evaluation.compare_fallback import fallback_evidence, popular_top
from homerec.evaluation.metrics import intra_list_diversity, mean_list_overlap, metric_table, novelty, top_items_share

RBO_P = 0.9
RBO_VARIANT = "extrapolated"
HIST_BINS = 30
ACCURACY_METRICS = ("HR", "Precision", "Recall", "NDCG", "MAP")

Ranked = Mapping[str, Sequence[tuple[str, float | None]]]
"""user id → ranked (item id, score or None) pairs, best first."""


@dataclass(frozen=True)
class TopK:
    """One side's lists for the compared users: item codes (-1: none) and scores (NaN: none)."""

    idx: np.ndarray
    scores: np.ndarray

    @classmethod
    def from_ranked(cls, lists: Ranked, users: Sequence[str], vocab: Mapping[str, int], k: int) -> "TopK":
        """Encode a mapping for `users` (a user it lacks gets an empty list); items must be in `vocab`."""
        idx = np.full((len(users), k), -1, dtype=np.int64)
        scores = np.full((len(users), k), np.nan)
        for row, user in enumerate(users):
            for rank, (item, score) in enumerate(list(lists.get(user, ()))[:k]):
                idx[row, rank] = vocab[item]
                scores[row, rank] = np.nan if score is None else float(score)
        return cls(dedupe(idx), scores)

    @property
    def lengths(self) -> np.ndarray:
        """Items per user."""
        return (self.idx >= 0).sum(axis=1)


SMALL_K = 32
"""Up to this list length, row-wise matching compares columns directly (O(k²) vector operations)."""


def dedupe(idx: np.ndarray) -> np.ndarray:
    """A copy of `idx` where an item repeated within a row is -1 after its first (best) rank."""
    idx = np.array(idx, dtype=np.int64, copy=True)
    k = idx.shape[1]
    if k < 2:
        return idx
    if k <= SMALL_K:
        later = np.zeros(idx.shape, dtype=bool)
        for j in range(1, k):
            later[:, j] = (idx[:, j : j + 1] == idx[:, :j]).any(axis=1)
        idx[later & (idx >= 0)] = -1
        return idx
    order = np.argsort(idx, axis=1, kind="stable")
    srt = np.take_along_axis(idx, order, axis=1)
    repeat = np.zeros(idx.shape, dtype=bool)
    repeat[:, 1:] = (srt[:, 1:] == srt[:, :-1]) & (srt[:, 1:] >= 0)
    later = np.zeros_like(repeat)
    np.put_along_axis(later, order, repeat, axis=1)
    idx[later] = -1
    return idx


def positions_in(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For each a[u, i], its 0-based rank in row b[u], or -1 (absent, or a[u, i] is -1)."""
    n, ka = a.shape
    if b.shape[1] <= SMALL_K:
        pos = np.full((n, ka), -1, dtype=np.int64)
        for j in range(b.shape[1] - 1, -1, -1):  # backwards, so the best rank of a repeated item wins
            pos[(a == b[:, j : j + 1]) & (a >= 0)] = j
        return pos
    span = int(max(a.max(initial=-1), b.max(initial=-1))) + 2
    rows = np.arange(n, dtype=np.int64)[:, None]
    valid = (b >= 0).ravel()
    bkeys = (rows * span + b).ravel()[valid]
    bpos = np.broadcast_to(np.arange(b.shape[1]), b.shape).ravel()[valid]
    order = np.argsort(bkeys, kind="stable")
    bkeys, bpos = bkeys[order], bpos[order]
    akeys = (rows * span + a).ravel()
    if len(bkeys) == 0:
        return np.full((n, ka), -1, dtype=np.int64)
    loc = np.minimum(np.searchsorted(bkeys, akeys), len(bkeys) - 1)
    found = (bkeys[loc] == akeys) & (a.ravel() >= 0)
    return np.where(found, bpos[loc], -1).reshape(n, ka)


def rbo(a: np.ndarray, b: np.ndarray, p: float = RBO_P, pos: np.ndarray | None = None) -> np.ndarray:
    """Extrapolated rank-biased overlap per row (NaN where both rows are empty); rows deduplicated.

    `pos` may pass `positions_in(a, b)` when the caller has it already.
    """
    n, k = a.shape
    pos = positions_in(a, b) if pos is None else pos
    rank = np.broadcast_to(np.arange(k), a.shape)
    depth = np.where(pos >= 0, np.maximum(rank, pos), k)  # an agreement counts from depth max(i, j) + 1
    counts = np.bincount((np.arange(n)[:, None] * (k + 1) + depth).ravel(), minlength=n * (k + 1))
    X = np.cumsum(counts.reshape(n, k + 1)[:, :k], axis=1)  # X[:, d-1] = |A[:d] ∩ B[:d]|
    L = np.maximum((a >= 0).sum(axis=1), (b >= 0).sum(axis=1))
    d = np.arange(1, k + 1)
    terms = np.where(d[None, :] <= L[:, None], X / d * p**d, 0.0)
    tail = np.take_along_axis(X, np.maximum(L - 1, 0)[:, None], axis=1)[:, 0] / np.maximum(L, 1) * p ** L
    out = (1 - p) / p * terms.sum(axis=1) + tail
    return np.where(L > 0, out, np.nan)


def pair_metrics(a: TopK, b: TopK, k: int, p: float = RBO_P) -> dict:
    """Mean overlap@k, Jaccard@k and RBO over users, and how many items the users' lists share."""
    if a.idx.shape[1] != b.idx.shape[1]:
        raise ValueError(f"lists of width {a.idx.shape[1]} and {b.idx.shape[1]}: encode both at the same k")
    pos = positions_in(a.idx, b.idx)
    shared = (pos >= 0).sum(axis=1)
    la, lb = a.lengths, b.lengths
    some = np.maximum(la, lb) > 0
    overlap = shared[some] / np.maximum(la, lb)[some]
    jaccard = shared[some] / (la + lb - shared)[some]
    r = rbo(a.idx, b.idx, p, pos)[some]
    dist = np.bincount(shared[some], minlength=k + 1)[: k + 1]
    return {
        "n_users": int(some.sum()),
        "overlap_at_k": _mean(overlap),
        "jaccard_at_k": _mean(jaccard),
        "rbo": _mean(r),
        "rbo_p": p,
        "rbo_variant": RBO_VARIANT,
        "identical_list_share": _mean((a.idx == b.idx).all(axis=1)[some]),
        "shared_items_distribution": dist.tolist(),
    }


def personalization(idx: np.ndarray, k: int) -> float | None:
    """1 − mean over pairs of users (with lists) of |L_u ∩ L_v| / k; exact, from item counts."""
    overlap = mean_list_overlap(idx, k)
    return None if overlap is None else 1.0 - overlap


def popularity_ranks(counts: np.ndarray) -> np.ndarray:
    """Rank of every item code by its count: 1 = most popular, ties get their average rank."""
    _, inverse, size = np.unique(-np.asarray(counts, dtype=np.float64), return_inverse=True, return_counts=True)
    first = np.cumsum(size) - size + 1  # rank of the first item of each tie group
    return (first + (size - 1) / 2.0)[inverse].astype(np.float64)


def popularity_bias(idx: np.ndarray, ranks: np.ndarray, n_catalog: int) -> dict:
    """Mean and median popularity rank of the recommended items, and the share from the top 1% / 10%."""
    items = idx[idx >= 0]
    if len(items) == 0:
        return {"mean_popularity_rank": None, "median_popularity_rank": None, "top_1pct_share": None,
                "top_10pct_share": None}
    r = ranks[items]
    return {
        "mean_popularity_rank": float(r.mean()),
        "median_popularity_rank": float(np.median(r)),
        "top_1pct_share": float((r <= max(1.0, 0.01 * n_catalog)).mean()),
        "top_10pct_share": float((r <= max(1.0, 0.10 * n_catalog)).mean()),
    }


def catalog_coverage(idx: np.ndarray, n_catalog: int) -> dict:
    """Distinct recommended catalog items (codes < n_catalog) over the catalog size."""
    items = np.unique(idx[idx >= 0])
    in_catalog = int((items < n_catalog).sum())
    return {"catalog_coverage": in_catalog / n_catalog if n_catalog else None,
            "distinct_items": int(len(items)), "items_not_in_catalog": int(len(items) - in_catalog)}


def score_summary(top: TopK) -> dict:
    """Quantiles, zero share, distinct values and a histogram of the scores of recommended items."""
    present = top.idx >= 0
    s = top.scores[present]
    s = s[np.isfinite(s)]
    out: dict = {"n": int(present.sum()), "with_score": int(len(s)),
                 "missing_share": 1.0 - len(s) / present.sum() if present.any() else None}
    if len(s) == 0:
        return out | {"histogram": None}
    s = np.sort(s)
    q = np.quantile(s, [0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0])
    counts, edges = np.histogram(s, bins=HIST_BINS)
    return out | {
        "min": float(q[0]), "p05": float(q[1]), "p25": float(q[2]), "median": float(q[3]),
        "p75": float(q[4]), "p95": float(q[5]), "max": float(q[6]), "mean": float(s.mean()),
        "std": float(s.std()), "zero_share": float((s == 0).mean()), "distinct": int((np.diff(s) != 0).sum() + 1),
        "histogram": {"edges": edges.tolist(), "counts": counts.tolist()},
    }


def accuracy(idx: np.ndarray, truth: Sequence[np.ndarray], k: int) -> dict:
    """HR, Precision, Recall, NDCG and MAP at k over users with future interactions (`truth` per row)."""
    has = np.fromiter((len(t) > 0 for t in truth), dtype=bool, count=len(truth))
    table = metric_table(idx[has], [t for t, h in zip(truth, has) if h], k, 1)
    return {"n_users": int(has.sum()), **{f"{m}@{k}": table[f"{m}@{k}"] for m in ACCURACY_METRICS}}


@dataclass(frozen=True)
class Reach:
    """What the breadth metrics need besides the lists: item users (novelty) and categories (diversity)."""

    item_users: np.ndarray | None = None
    """Distinct users per item code before the cut-off."""
    n_users: int = 0
    """Users with history before the cut-off."""
    categories: sp.csr_matrix | None = None
    """(item codes × categories) indicator, or None."""


def side_metrics(top: TopK, k: int, ranks: np.ndarray, n_catalog: int, popular: np.ndarray,
                 truth: Sequence[np.ndarray] | None, reach: Reach | None = None) -> dict:
    """Everything the report says about one side on its own."""
    reach = reach or Reach()
    lengths = top.lengths
    evidence = fallback_evidence(top.idx, top.scores, popular)
    return {
        "top10_share": top_items_share(top.idx),
        "novelty": novelty(top.idx, reach.item_users, reach.n_users) if reach.item_users is not None else None,
        "diversity": intra_list_diversity(top.idx, reach.categories),
        "n_users_with_list": int((lengths > 0).sum()),
        "mean_list_length": float(lengths.mean()) if len(lengths) else 0.0,
        "fallback_suspected": evidence.pop("fallback_suspected"),
        "fallback_evidence": evidence,
        "scores": score_summary(top),
        "personalization": personalization(top.idx, k),
        "popularity_bias": popularity_bias(top.idx, ranks, n_catalog),
        **catalog_coverage(top.idx, n_catalog),
        "accuracy": accuracy(top.idx, truth, k) if truth is not None else None,
    }


def compare_topk(a: TopK, b: TopK, k: int, item_counts: np.ndarray, n_catalog: int,
                 truth: Sequence[np.ndarray] | None = None, reach: Reach | None = None) -> dict:
    """The comparison report (JSON-ready): per side ``a`` and ``b``, and for the ``pair``.

    Args:
        a, b: the two sides' lists, row u of each for the same user.
        k: list length the comparison is at.
        item_counts: events per item code before the cut-off (popularity); catalog items
            come first (codes below `n_catalog`), items only the lists name after them.
        n_catalog: catalog size.
        truth: per row, the item codes the user interacted with after the cut-off (None: no
            accuracy metrics).
        reach: item users and categories for novelty and diversity (None: those are None).
    """
    ranks = popularity_ranks(item_counts)
    popular = popular_top(item_counts, k)
    return {
        "k": k,
        "n_users": int(a.idx.shape[0]),
        "n_catalog": n_catalog,
        "a": side_metrics(a, k, ranks, n_catalog, popular, truth, reach),
        "b": side_metrics(b, k, ranks, n_catalog, popular, truth, reach),
        "pair": pair_metrics(a, b, k),
    }


def compare_ranked(a: Ranked, b: Ranked, k: int = 10, popularity: Mapping[str, float] | None = None,
                   future: Mapping[str, Sequence[str]] | None = None, catalog: Sequence[str] | None = None,
                   users: Sequence[str] | None = None) -> dict:
    """`compare_topk` over plain mappings (small inputs; the CLI encodes large ones with polars).

    Args:
        popularity: item id → events before the cut-off (missing items: 0).
        future: user id → items interacted with after the cut-off (None: no accuracy).
        catalog: the catalog's item ids (default: every item named anywhere).
        users: users compared (default: those both mappings hold).
    """
    users = list(users) if users is not None else [u for u in a if u in b]
    named = [i for lists in (a, b) for u in users for i, _ in lists.get(u, ())]
    named += list(popularity or ()) + [i for u in users for i in (future or {}).get(u, ())]
    vocab = {i: c for c, i in enumerate(dict.fromkeys([*(catalog or ()), *named]))}
    n_catalog = len(catalog) if catalog is not None else len(vocab)
    counts = np.zeros(len(vocab))
    for item, c in (popularity or {}).items():
        counts[vocab[item]] = c
    truth = None
    if future is not None:
        truth = [np.unique(np.array([vocab[i] for i in future.get(u, ())], dtype=np.int64)) for u in users]
    return compare_topk(TopK.from_ranked(a, users, vocab, k), TopK.from_ranked(b, users, vocab, k),
                        k, counts, n_catalog, truth)


def _mean(values: np.ndarray) -> float | None:
    values = np.asarray(values, dtype=np.float64)
    return float(values.mean()) if len(values) else None
