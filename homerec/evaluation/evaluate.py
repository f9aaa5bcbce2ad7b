# SPDX-License-Identifier: Apache-2.0
"""evaluate(): fit each model on train, recommend top-k for the evaluation users, score them."""

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from homerec.data.features import ItemFeatures
from homerec.data.interactions import Interactions
from homerec.evaluation.metrics import breadth_table, metric_table
from homerec.evaluation.split import Split, eval_users, ground_truth
from homerec.models.base import Recommender

Fitter = Callable[[Interactions, ItemFeatures | None], Recommender]
"""Fits a fresh model on the given interactions (and features) and returns it fitted."""

MEMORY_BUDGET_BYTES = 200 * 2**20
"""Upper bound for the dense scoring work of one chunk of users."""
BYTES_PER_CELL = 16
"""float32 scores + their negation + int64 argpartition indices, per (user, item) cell."""


@dataclass
class ModelResult:
    """One model's figures and lists (rows follow EvalResult's evaluation users)."""

    metrics: dict[str, float]
    fit_seconds: float
    rec_idx: np.ndarray
    rec_scores: np.ndarray
    cold_share: float


@dataclass
class EvalResult:
    """Every model's result on one split, plus what the report needs."""

    dataset: str
    k: int
    n_eval_users: int
    n_items: int
    models: dict[str, ModelResult] = field(default_factory=dict)
    item_popularity: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    """Train events per item index (for the popularity-bias plots)."""
    models_meta: dict[str, dict] = field(default_factory=dict)
    """Per model, what its fitted model says about itself (the hybrid's blend report and decision)."""

    def to_json(self) -> dict:
        """Metrics and fit seconds per model, as plain JSON types."""
        return {
            "dataset": self.dataset,
            "n_eval_users": int(self.n_eval_users),
            "k": int(self.k),
            "models": {
                name: {**{m: None if v is None else float(v) for m, v in r.metrics.items()},
                       "fit_seconds": float(r.fit_seconds), **self.models_meta.get(name, {})}
                for name, r in self.models.items()
            },
        }


def chunk_rows(n_items: int, chunk: int) -> int:
    """Users per scoring chunk: at most `chunk`, and within MEMORY_BUDGET_BYTES."""
    return max(1, min(chunk, MEMORY_BUDGET_BYTES // (BYTES_PER_CELL * max(n_items, 1))))


def recommend_lists(
    model: Recommender, train: Interactions, users: np.ndarray, k: int, chunk: int = 2048
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top-k item indices, scores and fallback flags per user, excluding their train items."""
    users = np.asarray(users, dtype=np.int64)
    X = train.to_csr()
    idx = np.full((len(users), k), -1, dtype=np.int64)
    scores = np.full((len(users), k), -np.inf, dtype=np.float32)
    cold = np.zeros(len(users), dtype=bool)
    step = chunk_rows(train.n_items, chunk)
    for start in range(0, len(users), step):
        part = users[start : start + step]
        hist = X[part]
        i, s, c = model.recommend_batch(part, hist, k, exclude=hist)
        width = i.shape[1]
        idx[start : start + len(part), :width] = i
        scores[start : start + len(part), :width] = s
        cold[start : start + len(part)] = c
    return idx, scores, cold


def recommend_for(
    model: Recommender, train: Interactions, users: np.ndarray, k: int, chunk: int = 2048
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k item indices (-1: no item) and scores per user, excluding their train items."""
    idx, scores, _ = recommend_lists(model, train, users, k, chunk)
    return idx, scores


def item_users(train: Interactions) -> tuple[np.ndarray, int]:
    """Distinct training users per item index, and the number of users with a training event."""
    keys = np.unique(train.user_idx.astype(np.int64) * train.n_items + train.item_idx)
    return np.bincount(keys % train.n_items, minlength=train.n_items), len(np.unique(train.user_idx))


def list_metrics(
    idx: np.ndarray, truth: list[np.ndarray], k: int, train: Interactions, categories: sp.csr_matrix | None = None,
) -> dict[str, float | None]:
    """Accuracy (`metric_table`) and beyond-accuracy (`breadth_table`) metrics of top-k lists."""
    users_per_item, n_users = item_users(train)
    return {**metric_table(idx, truth, k, train.n_items),
            **breadth_table(idx, k, users_per_item, n_users, categories)}


def score_model(
    model: Recommender, split: Split, users: np.ndarray, truth: list[np.ndarray], k: int
) -> dict[str, float]:
    """The metrics (accuracy and breadth) of a fitted model's top-k lists for `users` against `truth`."""
    idx, _ = recommend_for(model, split.train, users, k)
    return list_metrics(idx, truth, k, split.train)


def evaluate(
    fitters: Mapping[str, Fitter],
    split: Split,
    features: ItemFeatures | None = None,
    k: int = 10,
    dataset: str = "",
    progress: Callable[[str], None] | None = None,
    *,
    max_users: int = 10_000,
    categories: sp.csr_matrix | None = None,
) -> EvalResult:
    """Fit every model on split.train (wall seconds around the fitter), recommend and score.

    Args:
        fitters: model name -> function returning a model fitted on its arguments.
        split: the temporal split (see temporal_split).
        features: item features over the split's item map, for models that use them.
        k: list length and metric cut-off.
        dataset: a name for the report.
        progress: called with a short message before and after each model.
        max_users: evaluation-user sample size (the protocol's 10,000).
        categories: (items × categories) indicator over the split's item map, for the
            intra-list diversity metric (None: not measured).
    """
    say = progress or (lambda _msg: None)
    users = eval_users(split, max_users=max_users)
    truth = ground_truth(split, users)
    n_items = split.train.n_items
    result = EvalResult(
        dataset=dataset,
        k=k,
        n_eval_users=len(users),
        n_items=n_items,
        item_popularity=np.bincount(split.train.item_idx, minlength=n_items).astype(np.int64),
    )
    for name, fitter in fitters.items():
        say(f"fitting {name}")
        started = time.perf_counter()
        model = fitter(split.train, features)
        fit_seconds = time.perf_counter() - started
        say(f"scoring {name} on {len(users)} users")
        idx, scores, cold = recommend_lists(model, split.train, users, k)
        metrics = list_metrics(idx, truth, k, split.train, categories)
        if hasattr(model, "blend_report_"):
            result.models_meta[name] = {"blend": model.blend_report_.to_json()}
        result.models[name] = ModelResult(metrics, fit_seconds, idx, scores, float(cold.mean()) if len(cold) else 0.0)
        say(f"{name}: NDCG@{k} {metrics[f'NDCG@{k}']:.4f} (fit {fit_seconds:.2f} s)")
    return result
