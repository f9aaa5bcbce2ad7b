# SPDX-License-Identifier: Apache-2.0
"""homerec train: fit the hybrid (or one model), tune on validation, register a new version."""

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from homerec.evaluation.autotune import fit_tuned
from homerec.evaluation.blend import fit_tuned_hybrid
from homerec.evaluation.breadth import Breadth
from homerec.evaluation.grids import CHEAP, GRIDS
from homerec.models import model_class
from homerec.models.hybrid import DEFAULT_PARTS, Hybrid
from homerec.models.item_rule import NonProductRule
from homerec.models.registry import Registry
from homerec.pipeline.companions import fit_parts
from homerec.pipeline.data import load_training_data
from homerec.storage.base import Store


@dataclass
class TrainReport:
    """What one training run produced."""

    version: str
    model: str
    parts: list[str]
    skipped: dict[str, str]
    n_users: int
    n_items: int
    n_interactions: int
    seconds: float
    validation_ndcg: dict[str, float] = field(default_factory=dict)
    weights: dict[str, list[float]] = field(default_factory=dict)
    part_seconds: dict[str, float] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    """Parts that restricted themselves (EASE on a large catalog), with the reason."""
    decision: dict = field(default_factory=dict)
    """Blend or its best part, and why (`homerec.evaluation.blend.BlendReport.decision`)."""
    non_products: int = 0
    """Items the non-product rule marked (never recommended)."""
    companions: dict[str, float] = field(default_factory=dict)
    """Distributor models saved with the version (reorder, basket, segments) and their fit seconds."""


def train(
    store: Store, registry: Registry, models: Sequence[str] | None = None, tune: bool = False,
    event_weights: dict[str, float] | None = None, activate: bool = True,
    progress: Callable[[str], None] | None = None, until: int | None = None,
    breadth: Breadth | None = None, rule: NonProductRule | None = None,
) -> TrainReport:
    """Train and register a new version.

    Args:
        models: hybrid parts (default: all); a single name trains that model alone.
        tune: also grid-search each part's hyper-parameters on the validation split
            (blend weights are always tuned).
        until: train on events before this epoch second only (to measure the model on the
            purchases after it, e.g. with `homerec compare --since`).
        breadth: the accuracy-with-breadth constraint of tuning (default: `Breadth()`).
        rule: items never to recommend (non-products); the model keeps the rule and a mask.
    """
    say = progress or (lambda _m: None)
    names = list(models or DEFAULT_PARTS)
    for name in names:
        model_class(name)  # unknown names fail before any work
    started = time.perf_counter()
    say("reading interactions from the store")
    td = load_training_data(store, event_weights, until)
    data = td.interactions
    say(f"{len(data):,} interactions, {data.n_users:,} users, {data.n_items:,} items")
    rule = rule or NonProductRule()
    non_products = rule.non_products(td.items, data.items.ids.tolist())
    recommendable = None if rule.empty else ~non_products
    if non_products.any():
        say(f"{int(non_products.sum()):,} items are non-products by the configured rule: never recommended")
    if len(names) == 1 and names[0] != "hybrid":
        model = fit_tuned(names[0], data, td.features, search_grid=tune, say=say, breadth=breadth,
                          recommendable=recommendable)
        validation: dict[str, float] = {}
    else:
        parts = [n for n in names if n != "hybrid"] or list(DEFAULT_PARTS)
        tune_parts = tuple(GRIDS) if tune else CHEAP
        model = fit_tuned_hybrid(data, td.features, parts=parts, progress=say, tune_parts=tune_parts,
                                 breadth=breadth, recommendable=recommendable)
        validation = model.blend_report_.validation_ndcg if hasattr(model, "blend_report_") else {}
    model.item_rule_ = "" if rule.empty else rule.to_json()
    companions, companion_seconds = fit_parts(data, td.features, td.items, model, say)
    seconds = time.perf_counter() - started
    meta = {
        "data_digest": td.digest(), "n_users": data.n_users, "n_items": data.n_items,
        "n_interactions": len(data), "train_seconds": round(seconds, 2), "validation_ndcg": validation,
        "trained_until": data.max_ts(), "store": store.url,
        "non_products": {"rule": json.loads(rule.to_json()), "n_items": int(non_products.sum())},
    }
    if hasattr(model, "blend_report_"):
        meta["blend"] = model.blend_report_.to_json()
    members = model.models_ if isinstance(model, Hybrid) else {model.name: model}
    meta["notes"] = {n: m.restricted_reason_ for n, m in members.items() if getattr(m, "restricted_reason_", "")}
    meta["parts"] = companion_seconds
    version = registry.register(model, meta, activate=activate, parts=companions)
    is_hybrid = isinstance(model, Hybrid)
    notes = meta["notes"]
    return TrainReport(
        version=version, model=model.name,
        parts=list(model.models_) if is_hybrid else [model.name],
        skipped=dict(model.skipped_) if is_hybrid else {},
        n_users=data.n_users, n_items=data.n_items, n_interactions=len(data), seconds=seconds,
        validation_ndcg=validation, weights=dict(model.weights) if is_hybrid else {},
        part_seconds=dict(model.part_seconds_) if is_hybrid else {},
        notes=notes, decision=dict(model.blend_report_.decision) if hasattr(model, "blend_report_") else {},
        non_products=int(non_products.sum()), companions=companion_seconds,
    )
