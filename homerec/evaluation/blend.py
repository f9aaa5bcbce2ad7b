# SPDX-License-Identifier: Apache-2.0
"""Tune the hybrid's blend on validation: NDCG@k inside the breadth region, guarded by a bootstrap.

1. Every part is fitted on the fit part of train and scored on a candidate pool per
   validation user (`homerec.evaluation.candidates`).
2. Global weights: coordinate ascent on validation NDCG@k among blends whose lists meet the
   breadth constraint (`homerec.evaluation.breadth`).
3. Per-history-length weights: only for buckets with `MIN_BUCKET_USERS` validation users, and
   kept only when they beat the global weights on that bucket beyond bootstrap noise.
4. The blend against its best single part (the best one that meets the constraint): when the
   paired bootstrap over validation users cannot tell them apart, the simpler model is served
   (a hybrid of that one part) and `BlendReport.decision` says why.
5. The trade-off curve: the best blend under each setting of `breadth.CURVE`.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from homerec.data.features import ItemFeatures
from homerec.data.interactions import Interactions
from homerec.errors import ConfigError
from homerec.evaluation.autotune import UNMIXED, choose_mix
from homerec.evaluation.bootstrap import paired_difference
from homerec.evaluation.breadth import CURVE, Breadth, CurvePoint, Limits, ListBreadth, objective_key
from homerec.evaluation.candidates import Candidates, collect_candidates, ndcg_per_user
from homerec.evaluation.evaluate import Fitter
from homerec.evaluation.grids import CHEAP, GRIDS
from homerec.evaluation.split import eval_users, ground_truth
from homerec.evaluation.tuning import grid_search, validation_split
from homerec.models.hybrid import DEFAULT_PARTS, Hybrid
from homerec.models.popularity import Popularity

__all__ = ["BlendReport", "Candidates", "fit_tuned_hybrid", "ndcg_per_user", "search_weights", "tune_weights"]

MIN_BUCKET_USERS = 1000
STEPS = (0.0, 0.25, 0.5, 2.0, 4.0)


@dataclass
class BlendReport:
    """What tuning found: weights per bucket, validation NDCG and breadth, the decision, the curve."""

    weights: dict[str, list[float]]
    validation_ndcg: dict[str, float] = field(default_factory=dict)
    n_users: int = 0
    seconds: float = 0.0
    breadth: dict = field(default_factory=dict)
    decision: dict = field(default_factory=dict)
    curve: list[CurvePoint] = field(default_factory=list)

    def to_json(self) -> dict:
        """Plain JSON types (for the registry's version metadata and evaluate's JSON)."""
        return {"weights": self.weights, "validation_ndcg": {k: round(v, 6) for k, v in self.validation_ndcg.items()},
                "n_users": self.n_users, "seconds": round(self.seconds, 2), "breadth": self.breadth,
                "decision": self.decision, "curve": [p.to_json() for p in self.curve]}


Key = tuple[float, float]


def _key(c: Candidates, weights: np.ndarray, rows: np.ndarray, k: int, limits: Limits | None) -> Key:
    ndcg, items = c.blend(weights, rows, k)
    breadth = ListBreadth.of(items, c.n_items) if limits is not None else None
    return objective_key(float(ndcg.mean()), breadth, limits)


def _ascent(score: Callable[[np.ndarray], Key], starts: Sequence[np.ndarray], rounds: int) -> tuple[np.ndarray, Key]:
    """Coordinate ascent over non-negative weights by multiplicative steps, from the best start."""
    scored = [(score(w), i) for i, w in enumerate(starts)]
    best, i = max(scored, key=lambda t: (t[0], -t[1]))
    best_w = np.asarray(starts[i], dtype=np.float64)
    for _ in range(rounds):
        improved = False
        for j in range(len(best_w)):
            for step in STEPS:
                w = best_w.copy()
                w[j] = best_w[j] * step if best_w[j] > 0 else step * best_w.max() / 2
                if not w.any():
                    continue
                s = score(w)
                if s[0] > best[0] + 1e-12 or (s[0] >= best[0] - 1e-12 and s[1] > best[1] + 1e-9):
                    best, best_w, improved = s, w, True
        if not improved:
            break
    return best_w / best_w.max(), best


def search_weights(
    c: Candidates, rows: np.ndarray, k: int, rounds: int = 3, start: np.ndarray | None = None,
    limits: Limits | None = None,
) -> tuple[np.ndarray, float]:
    """Best weights for `rows` (inside `limits` when given) and their mean NDCG@k.

    Coordinate ascent started from the best of equal, one-part and `start` blends.
    """
    n_parts = c.values.shape[0]
    starts = [np.ones(n_parts)] + [np.eye(n_parts)[j] for j in range(n_parts)]
    if start is not None:
        starts.insert(0, np.asarray(start, dtype=np.float64))
    w, key = _ascent(lambda w: _key(c, w, rows, k, limits), starts, rounds)
    return w, key[1]


def _reference(c: Candidates, names: list[str], personal: list[bool], rows: np.ndarray, k: int) -> tuple[str, float]:
    """The most accurate personalised part on validation and its Coverage@k (the peer stand-in)."""
    best = None
    for j, name in enumerate(names):
        if not personal[j]:
            continue
        ndcg, items = c.blend(np.eye(len(names))[j], rows, k)
        if best is None or ndcg.mean() > best[1]:
            best = (name, float(ndcg.mean()), ListBreadth.of(items, c.n_items).coverage)
    return (best[0], best[2]) if best else ("", 0.0)


def _bucket_weights(c: Candidates, global_w: np.ndarray, n_buckets: int, k: int, limits: Limits) -> tuple[np.ndarray, dict]:
    """Per-bucket weights where a bucket has enough users and beats the global weights beyond noise."""
    everyone = np.arange(len(c.buckets))
    per_bucket = np.tile(global_w, (n_buckets, 1))
    notes = {}
    for b in range(n_buckets):
        rows = np.flatnonzero(c.buckets == b)
        if len(rows) < MIN_BUCKET_USERS:
            notes[str(b)] = f"{len(rows)} validation users < {MIN_BUCKET_USERS}: global weights"
            continue

        def score(w: np.ndarray, b: int = b) -> Key:
            trial = per_bucket.copy()
            trial[b] = w
            return _key(c, trial[c.buckets], everyone, k, limits)

        n_parts = len(global_w)
        w, _ = _ascent(score, [global_w] + [np.eye(n_parts)[j] for j in range(n_parts)], 3)
        diff = paired_difference(ndcg_per_user(c, w, rows, k), ndcg_per_user(c, global_w, rows, k))
        if diff.better:
            per_bucket[b] = w
            notes[str(b)] = f"own weights: {diff}"
        else:
            notes[str(b)] = f"global weights: own weights not better beyond noise, {diff}"
    return per_bucket, notes


def tune_weights(
    hybrid: Hybrid, train_part: Interactions, split_users: np.ndarray, truth: Sequence[np.ndarray], k: int = 10,
    breadth: Breadth | None = None, curve: bool = True,
) -> BlendReport:
    """Weights for a hybrid fitted on the fit part, scored on validation users (see the module doc)."""
    started = time.perf_counter()
    breadth = breadth or Breadth()
    c = collect_candidates(hybrid, train_part.to_csr(), split_users, truth, k)
    c.cap_share = breadth.max_item_share if breadth.cap else 1.0
    names = list(hybrid.models_)
    personal = [not isinstance(m, Popularity) for m in hybrid.models_.values()]
    everyone = np.arange(len(split_users))
    ref_name, ref_cov = _reference(c, names, personal, everyone, k)
    limits = breadth.limits(ref_cov)
    global_w, _ = search_weights(c, everyone, k, limits=limits)
    per_bucket, bucket_notes = _bucket_weights(c, global_w, len(hybrid.bucket_edges) + 1, k, limits)
    by_row = per_bucket[c.buckets]
    blend_ndcg, blend_items = c.blend(by_row, everyone, k)
    report = BlendReport({n: [round(float(x), 4) for x in per_bucket[:, j]] for j, n in enumerate(names)},
                         n_users=len(split_users))
    report.validation_ndcg["hybrid"] = float(blend_ndcg.mean())
    part_ndcg, part_breadth = {}, {}
    for j, n in enumerate(names):
        part_ndcg[n], items = c.blend(np.eye(len(names))[j], everyone, k)
        part_breadth[n] = ListBreadth.of(items, c.n_items)
        report.validation_ndcg[n] = float(part_ndcg[n].mean())
    chosen = ListBreadth.of(blend_items, c.n_items)
    report.breadth = {"max_item_share_limit": limits.max_item_share, "min_coverage": round(limits.min_coverage, 6),
                      "reference": ref_name, "reference_coverage": round(ref_cov, 6),
                      "coverage": round(chosen.coverage, 6), "max_item_share": round(chosen.max_item_share, 6),
                      "top_share": round(chosen.top_share, 6), "feasible": chosen.violation(limits) <= 1e-12,
                      "parts_inside": [n for n in names if part_breadth[n].violation(limits) <= 1e-12],
                      "buckets": bucket_notes}
    report.decision = _decide(names, blend_ndcg, part_ndcg, part_breadth, limits)
    if curve:
        report.curve = _curve(c, names, everyone, k, ref_cov, global_w)
    report.seconds = time.perf_counter() - started
    return report


def _decide(names: list[str], blend_ndcg: np.ndarray, part_ndcg: dict[str, np.ndarray],
            part_breadth: dict[str, ListBreadth], limits: Limits) -> dict:
    """Serve the blend, or its best single part when the bootstrap cannot tell them apart."""
    inside = [n for n in names if part_breadth[n].violation(limits) <= 1e-12]
    if len(names) == 1:
        return {"served": "blend", "part": names[0], "reason": "one part only"}
    if not inside:
        return {"served": "blend", "part": None,
                "reason": "no single part meets the breadth constraint on validation, the blend is served"}
    best = max(inside, key=lambda n: float(part_ndcg[n].mean()))
    diff = paired_difference(blend_ndcg, part_ndcg[best])
    out = {"part": best, "blend_ndcg": round(float(blend_ndcg.mean()), 6),
           "part_ndcg": round(float(part_ndcg[best].mean()), 6), "difference": diff.to_json()}
    if diff.better:
        return {"served": "blend", **out,
                "reason": f"the blend beats its best part {best} beyond noise on validation: {diff}"}
    return {"served": best, **out,
            "reason": f"validation cannot tell the blend from its best part {best} (blend - {best} = {diff}): "
                      f"the simpler model, {best} alone, is served"}


def _curve(c: Candidates, names: list[str], rows: np.ndarray, k: int, ref_cov: float, start: np.ndarray) -> list[CurvePoint]:
    """The best global blend under each breadth setting of `CURVE`, measured on validation."""
    points = []
    capped = c.cap_share < 1.0
    for share, ratio in CURVE:
        limits = Breadth(share, ratio).limits(ref_cov)
        c.cap_share = share if capped else 1.0
        w, _ = search_weights(c, rows, k, rounds=2, start=start, limits=limits)
        ndcg, items = c.blend(w, rows, k)
        b = ListBreadth.of(items, c.n_items)
        points.append(CurvePoint(share, ratio, float(ndcg.mean()), b.coverage, b.top_share, b.max_item_share,
                                 b.violation(limits) <= 1e-12, {n: round(float(x), 4) for n, x in zip(names, w)}))
    c.cap_share = 1.0
    return points


def _maker(name: str) -> Callable[[dict], Fitter]:
    from homerec.models import model_class

    cls = model_class(name)
    return lambda params: lambda data, features: cls(**params).fit(data, features)


def fit_tuned_hybrid(
    train: Interactions, features: ItemFeatures | None = None, parts: Sequence[str] | None = None,
    part_params: dict[str, dict] | None = None, k: int = 10, max_users: int = 5000,
    progress: Callable[[str], None] | None = None, tune_parts: Sequence[str] = CHEAP,
    breadth: Breadth | None = None, recommendable: np.ndarray | None = None, curve: bool = True,
) -> Hybrid:
    """Fit parts on the fit part of train, tune the blend on validation, refit on all of train.

    Parts named in ``tune_parts`` first get their hyper-parameters from a grid search on the
    same validation split. Parts whose weight is zero in every bucket are dropped from the
    final model; when the bootstrap cannot tell the blend from its best part, only that part
    is kept. The tuning report is attached as ``blend_report_``.

    Args:
        breadth: the breadth constraint (default: `Breadth()`).
        recommendable: per item of `train`, whether it may be recommended (None: all).
        curve: also sweep the accuracy/breadth trade-off curve.
    """
    say = progress or (lambda _m: None)
    breadth = breadth or Breadth()
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
        return Hybrid(parts=parts, part_params=part_params).fit(train, features, recommendable=recommendable)
    truth = ground_truth(split, users)
    say(f"fitting {len(parts)} parts on the fit split")
    probe = Hybrid(parts=parts, part_params=part_params).fit(split.train, features, recommendable=recommendable)
    say(f"tuning blend weights on {len(users)} validation users")
    report = tune_weights(probe, split.train, users, truth, k, breadth, curve)
    say(report.decision["reason"])
    if report.decision["served"] == "blend":
        kept = [p for p in probe.models_ if any(w > 0 for w in report.weights[p])]
        weights = {p: report.weights[p] for p in kept}
    else:  # the simpler model: the part alone, with its own popularity mix as `homerec train --models` tunes it
        kept = [report.decision["served"]]
        weights = {kept[0]: [1.0] * (len(probe.bucket_edges) + 1)}
        if kept[0] not in UNMIXED:
            mix, note = choose_mix(probe.models_[kept[0]], split, users, truth, k, breadth)
            part_params[kept[0]] = {**part_params.get(kept[0], {}), "popularity_mix": mix}
            report.decision["popularity_mix"] = mix
            say(f"{kept[0]} served alone: {note}")
    say(f"refitting {len(kept)} parts on all of train")
    final = Hybrid(parts=kept, part_params={p: v for p, v in part_params.items() if p in kept},
                   weights=weights, bucket_edges=list(probe.bucket_edges),
                   max_item_share=breadth.max_item_share if breadth.cap else 1.0, cap_k=k,
                   ).fit(train, features, recommendable=recommendable)
    final.skipped_.update(probe.skipped_)
    final.blend_report_ = report
    return final
