# SPDX-License-Identifier: Apache-2.0
"""Tune the hybrid's blend weights on the validation split, per history-length bucket."""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from homerec.data.features import ItemFeatures
from homerec.data.interactions import Interactions
from homerec.evaluation.split import eval_users, ground_truth
from homerec.errors import ConfigError
from homerec.evaluation.evaluate import Fitter
from homerec.evaluation.grids import CHEAP, GRIDS
from homerec.evaluation.tuning import grid_search, validation_split
from homerec.models.hybrid import DEFAULT_PARTS, Hybrid
from homerec.models.scaling import normalize_scores
from homerec.models.topk import mask_rows, top_k

CANDIDATES_PER_PART = 100
MIN_BUCKET_USERS = 1000
STEPS = (0.0, 0.25, 0.5, 2.0, 4.0)


@dataclass
class Candidates:
    """Each part's normalised score on a pool of candidate items per validation user."""

    values: np.ndarray  # (parts, users, C), 0 where a part cannot score
    relevant: np.ndarray  # (users, C) bool
    valid: np.ndarray  # (users, C) bool, False for padding
    ideal: np.ndarray  # (users,) ideal DCG at k
    buckets: np.ndarray  # (users,)


@dataclass
class BlendReport:
    """What tuning found: weights per bucket and validation NDCG of the blend and of each part."""

    weights: dict[str, list[float]]
    validation_ndcg: dict[str, float] = field(default_factory=dict)
    n_users: int = 0
    seconds: float = 0.0


def collect_candidates(hybrid: Hybrid, X: sp.csr_matrix, users: np.ndarray, truth: Sequence[np.ndarray], k: int) -> Candidates:
    """Union of every part's top candidates per user, with each part's normalised score there."""
    names = list(hybrid.models_)
    rows_vals, rows_rel, rows_idx = [], [], []
    for start in range(0, len(users), 512):
        u = users[start : start + 512]
        hist = X[u]
        part_norm = []
        for name in names:
            s = normalize_scores(hybrid.models_[name].score(u, hist))
            part_norm.append(s)
        pools = []
        for s in part_norm:
            masked = np.where(np.isnan(s), -np.inf, s)
            mask_rows(masked, hist)
            pools.append(top_k(masked, CANDIDATES_PER_PART)[0])
        pool = np.concatenate(pools, axis=1)
        for r in range(len(u)):
            cand = np.unique(pool[r][pool[r] >= 0])
            rows_idx.append(cand)
            rows_vals.append(np.stack([np.nan_to_num(s[r, cand]) for s in part_norm]))
            rows_rel.append(np.isin(cand, truth[start + r]))
    width = max((len(c) for c in rows_idx), default=1)
    n = len(users)
    values = np.zeros((len(names), n, width), np.float32)
    relevant = np.zeros((n, width), bool)
    valid = np.zeros((n, width), bool)
    for r, cand in enumerate(rows_idx):
        values[:, r, : len(cand)] = rows_vals[r]
        relevant[r, : len(cand)] = rows_rel[r]
        valid[r, : len(cand)] = True
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    n_rel = np.minimum([len(t) for t in truth], k)
    ideal = np.array([discounts[:m].sum() for m in n_rel])
    return Candidates(values, relevant, valid, ideal, hybrid.bucket_of(X[users]))


def ndcg_per_user(c: Candidates, w: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """NDCG@k of the blend with weights `w` for the given user rows."""
    blended = np.tensordot(w, c.values[:, rows], axes=1)
    blended[~c.valid[rows]] = -np.inf
    idx, vals = top_k(blended, k)
    hits = np.take_along_axis(c.relevant[rows], np.maximum(idx, 0), axis=1) & (idx >= 0)
    dcg = (hits / np.log2(np.arange(2, idx.shape[1] + 2))).sum(axis=1)
    return np.where(c.ideal[rows] > 0, dcg / np.maximum(c.ideal[rows], 1e-12), 0.0)


def search_weights(
    c: Candidates, rows: np.ndarray, k: int, rounds: int = 3, start: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """Coordinate ascent over weights, started from the best of equal, one-part and `start` blends."""
    n_parts = c.values.shape[0]
    score = lambda w: float(ndcg_per_user(c, w, rows, k).mean())  # noqa: E731
    starts = [np.ones(n_parts)] + [np.eye(n_parts)[j] for j in range(n_parts)]
    if start is not None:
        starts.insert(0, start)
    best_w = max(starts, key=score)
    best = score(best_w)
    for _ in range(rounds):
        improved = False
        for j in range(n_parts):
            for step in STEPS:
                w = best_w.copy()
                w[j] = best_w[j] * step if best_w[j] > 0 else step * best_w.max() / 2
                if not w.any():
                    continue
                s = score(w)
                if s > best + 1e-9:
                    best, best_w, improved = s, w, True
        if not improved:
            break
    return best_w / best_w.max(), best


def tune_weights(hybrid: Hybrid, train_part: Interactions, split_users: np.ndarray, truth: Sequence[np.ndarray], k: int = 10) -> BlendReport:
    """Weights for a hybrid fitted on the fit part, scored on validation users."""
    started = time.perf_counter()
    X = train_part.to_csr()
    c = collect_candidates(hybrid, X, split_users, truth, k)
    names = list(hybrid.models_)
    everyone = np.arange(len(split_users))
    global_w, global_score = search_weights(c, everyone, k)
    n_buckets = len(hybrid.bucket_edges) + 1
    per_bucket = np.tile(global_w, (n_buckets, 1))
    for b in range(n_buckets):
        rows = np.flatnonzero(c.buckets == b)
        if len(rows) >= MIN_BUCKET_USERS:
            per_bucket[b], _ = search_weights(c, rows, k, start=global_w)
    report = BlendReport({n: [round(float(x), 4) for x in per_bucket[:, j]] for j, n in enumerate(names)},
                         n_users=len(split_users))
    weights_by_row = per_bucket[c.buckets]
    blended = np.einsum("up,puc->uc", weights_by_row, c.values)
    report.validation_ndcg["hybrid"] = _mean_ndcg_of(c, blended, k)
    for j, n in enumerate(names):
        report.validation_ndcg[n] = float(ndcg_per_user(c, np.eye(len(names))[j], everyone, k).mean())
    report.validation_ndcg["hybrid_global_weights"] = global_score
    report.seconds = time.perf_counter() - started
    return report


def _mean_ndcg_of(c: Candidates, blended: np.ndarray, k: int) -> float:
    blended = np.where(c.valid, blended, -np.inf)
    idx, _ = top_k(blended, k)
    hits = np.take_along_axis(c.relevant, np.maximum(idx, 0), axis=1) & (idx >= 0)
    dcg = (hits / np.log2(np.arange(2, idx.shape[1] + 2))).sum(axis=1)
    return float(np.where(c.ideal > 0, dcg / np.maximum(c.ideal, 1e-12), 0.0).mean())


def _maker(name: str) -> Callable[[dict], Fitter]:
    from homerec.models import model_class

    cls = model_class(name)
    return lambda params: lambda data, features: cls(**params).fit(data, features)


def fit_tuned_hybrid(
    train: Interactions, features: ItemFeatures | None = None, parts: Sequence[str] | None = None,
    part_params: dict[str, dict] | None = None, k: int = 10, max_users: int = 5000,
    progress: Callable[[str], None] | None = None, tune_parts: Sequence[str] = CHEAP,
) -> Hybrid:
    """Fit parts on the fit part of train, tune blend weights on validation, refit on all of train.

    Parts named in ``tune_parts`` first get their hyper-parameters from a grid search on the
    same validation split. Parts whose weight is zero in every bucket are dropped from the
    final model. The tuning report is attached as ``blend_report_``.
    """
    say = progress or (lambda _m: None)
    parts = list(parts or DEFAULT_PARTS)
    part_params = dict(part_params or {})
    for name in parts:
        if name in tune_parts and name in GRIDS and name not in part_params:
            say(f"searching {len(GRIDS[name])} settings of {name}")
            try:
                part_params[name], _ = grid_search(_maker(name), GRIDS[name], train, features, k, max_users=max_users)
            except ConfigError as err:  # the part cannot fit here; the hybrid will skip it too
                say(f"{name} not tuned: {err}")
    split = validation_split(train)
    users = eval_users(split, max_users=max_users)
    if len(users) == 0:
        say("no validation users: using equal blend weights")
        return Hybrid(parts=parts, part_params=dict(part_params or {})).fit(train, features)
    truth = ground_truth(split, users)
    say(f"fitting {len(parts)} parts on the fit split")
    probe = Hybrid(parts=parts, part_params=dict(part_params or {})).fit(split.train, features)
    say(f"tuning blend weights on {len(users)} validation users")
    report = tune_weights(probe, split.train, users, truth, k)
    kept = [p for p in probe.models_ if any(w > 0 for w in report.weights[p])]
    weights = {p: report.weights[p] for p in kept}
    say(f"refitting {len(kept)} parts on all of train")
    final = Hybrid(parts=kept, part_params={p: v for p, v in (part_params or {}).items() if p in kept},
                   weights=weights, bucket_edges=list(probe.bucket_edges)).fit(train, features)
    final.skipped_.update(probe.skipped_)
    final.blend_report_ = report
    return final
