# SPDX-License-Identifier: Apache-2.0
"""The segment protocol (likeliest customers for a product) and the fitting of the segment model.

Protocol (`benchmark-protocol.md`, "Segment"): the usual temporal split. Target products are
those with at least `MIN_BUYERS` test buyers known in train and at least one new buyer; the 200
with the most distinct test buyers are kept (ties in a seeded random order). For each, every
customer with a train history who did not buy it in train is ranked; the truth is the
customers who buy it in test and did not in train. Precision@100 and recall@100 (hits over
min(|truth|, 100)) are averaged over products; breadth is the share of distinct customers
among all segment slots and the share of segments the most listed customer appears in.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from homerec.data.interactions import Interactions
from homerec.evaluation.split import Split
from homerec.evaluation.tuning import validation_split
from homerec.models.segments import SegmentModel

N_TARGETS = 200
MIN_BUYERS = 5
K = 100


@dataclass(frozen=True)
class SegmentTask:
    """Target products, their truth (new buyers), the train events and the item categories."""

    train: Interactions
    targets: np.ndarray
    truth: list[np.ndarray]
    categories: sp.csr_matrix | None = None


def segment_task(split: Split, categories: sp.csr_matrix | None = None, n_targets: int = N_TARGETS,
                 seed: int = 0, min_buyers: int = MIN_BUYERS) -> SegmentTask:
    """Targets and truth of the split (see the module docstring)."""
    train, test = split.train, split.test
    known = np.zeros(train.n_users, dtype=bool)
    known[train.user_idx] = True
    keys = np.unique(test.item_idx.astype(np.int64) * test.n_users + test.user_idx)
    item, user = np.divmod(keys, test.n_users)
    before = np.unique(train.item_idx.astype(np.int64) * train.n_users + train.user_idx)
    new = known[user] & ~np.isin(keys, before, assume_unique=True)
    buyers = np.bincount(item, minlength=test.n_items)
    known_buyers = np.bincount(item[known[user]], minlength=test.n_items)
    new_buyers = np.bincount(item[new], minlength=test.n_items)
    eligible = np.flatnonzero((known_buyers >= min_buyers) & (new_buyers > 0))
    tie = np.random.default_rng(seed).random(len(eligible))
    targets = eligible[np.lexsort((tie, -buyers[eligible]))][:n_targets]
    truth = [user[new & (item == t)] for t in targets]
    return SegmentTask(train, targets, truth, categories)


def segment_metrics(ranked: np.ndarray, truth: Sequence[np.ndarray], k: int = K) -> dict[str, float]:
    """Precision@k, recall@k (over min(|truth|, k)), customer coverage and the top customer's share."""
    if len(ranked) == 0:
        return {f"Precision@{k}": 0.0, f"Recall@{k}": 0.0, "CustomerCoverage": 0.0, "TopCustomerShare": 0.0}
    top = ranked[:, :k]
    hits = np.array([np.isin(row[row >= 0], t).sum() for row, t in zip(top, truth)], dtype=np.float64)
    sizes = np.array([len(t) for t in truth], dtype=np.float64)
    filled = top[top >= 0]
    return {
        f"Precision@{k}": float((hits / k).mean()),
        f"Recall@{k}": float(np.where(sizes > 0, hits / np.maximum(np.minimum(sizes, k), 1), 0.0).mean()),
        "CustomerCoverage": float(len(np.unique(filled)) / max(len(filled), 1)),
        "TopCustomerShare": float(np.bincount(filled).max() / len(top)) if len(filled) else 0.0,
    }


def top_customers(scores: np.ndarray, task: SegmentTask, k: int = K) -> np.ndarray:
    """(targets, k) customer indices by descending score (users × targets), only eligible customers:
    a train history and no train purchase of the target."""
    t = task.train
    has = np.zeros(t.n_users, dtype=bool)
    has[t.user_idx] = True
    bought = sp.csr_matrix((np.ones(len(t), np.float32), (t.user_idx, t.item_idx)), shape=(t.n_users, t.n_items))
    s = np.where(has[:, None] & (bought[:, task.targets].toarray() == 0), scores, -np.inf)
    order = np.argsort(-s, axis=0, kind="stable")[:k].T
    return np.where(np.take_along_axis(s.T, order, axis=1) > -np.inf, order, -1)


Ranker = Callable[[SegmentTask, dict[str, Any]], np.ndarray]
"""(task, params) -> scores (users × targets); higher is likelier."""


def tune_and_score(rank: Ranker, grid: Sequence[dict[str, Any]], split: Split,
                   categories: sp.csr_matrix | None = None, k: int = K) -> dict[str, Any]:
    """Pick params on the validation split by precision@k, then score them on the split's test."""
    best, tried = dict(grid[0]), []
    if len(grid) > 1:
        inner = segment_task(validation_split(split.train), categories)
        for params in grid:
            ranked = top_customers(rank(inner, params), inner, k)
            tried.append((dict(params), segment_metrics(ranked, inner.truth, k)[f"Precision@{k}"]))
        best = dict(max(tried, key=lambda t: t[1])[0])
    outer = segment_task(split, categories)
    ranked = top_customers(rank(outer, best), outer, k)
    return {"metrics": segment_metrics(ranked, outer.truth, k), "best_params": best, "validation": tried,
            "n_targets": int(len(outer.targets))}


TRAINING_TARGETS = 1000
"""Validation products the segment model learns from: more than the protocol scores (up to 1,000, with two
or more buyers), for steadier weights."""


def fit_segments(train: Interactions, attributes: dict[str, sp.csr_matrix] | None = None,
                 progress: Callable[[str], None] | None = None, **params: Any) -> SegmentModel:
    """A segment model whose weights are learned on train's validation split, refreshed on all of train.

    `attributes`: the items' categorical columns (`homerec.models.segments.attribute_matrices`).
    """
    say = progress or (lambda _m: None)
    inner = segment_task(validation_split(train), n_targets=TRAINING_TARGETS, min_buyers=2)
    say(f"learning segment weights on {len(inner.targets)} validation products")
    model = SegmentModel(**params).fit(inner.train, inner.targets, inner.truth, attributes)
    return model.refresh(train)


def model_scores(model: SegmentModel, task: SegmentTask) -> np.ndarray:
    """The model's probabilities (users × targets), in chunks of targets; -inf where not eligible."""
    parts = [model.probabilities(task.targets[a : a + 20]) for a in range(0, len(task.targets), 20)]
    return np.concatenate(parts, axis=1) if parts else np.zeros((task.train.n_users, 0), np.float32)
