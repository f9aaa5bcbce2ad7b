# SPDX-License-Identifier: Apache-2.0
"""Write batch lists: AWS Personalize batch-inference JSON lines, CSV, and the store's cache."""

import csv
import json
from typing import TextIO

import numpy as np

from homerec.batch.inference import Lists
from homerec.models.base import FALLBACK_REASON, Recommender
from homerec.models.relative import relative
from homerec.storage.base import Store
from homerec.types import Recommendation

FORMATS = ("personalize", "csv")
CSV_HEADER = ["kind", "id", "rank", "item_id", "score", "score10", "reason", "quantity"]
"""`quantity`: the suggested units of a re-order (buy-again lists), empty otherwise."""


def _rows(model: Recommender, lists: Lists) -> list[tuple[str, list[str], list[float], list[float], str]]:
    """(key, item ids, raw scores, 0-10 scores, reason) per row of a chunk."""
    out = []
    for r, key in enumerate(lists.keys):
        keep = lists.idx[r] >= 0
        raw = lists.scores[r][keep].tolist()
        cold = bool(lists.cold[r])
        s10 = [model.fallback_score10(v) if cold else model.score10(v) for v in raw]
        out.append((key, model.items_.to_ids(lists.idx[r][keep]), raw, s10, FALLBACK_REASON if cold else model.name))
    return out


def write_personalize(fh: TextIO, model: Recommender, lists: Lists, kind: str) -> None:
    """Personalize batch-inference output lines, scores on Personalize's scale as the runtime API gives them.

    Users' lines carry `scores` (`homerec.models.relative`, from `lists.log_z`); users on the
    popularity fallback and similar-item lines carry none, as Personalize's popular placeholders
    and related-items recipes do.
    """
    key_name = "userId" if kind == "user" else "itemId"
    for r, key in enumerate(lists.keys):
        keep = lists.idx[r] >= 0
        output: dict = {"recommendedItems": model.items_.to_ids(lists.idx[r][keep])}
        if kind == "user" and not lists.cold[r] and lists.log_z is not None:
            output["scores"] = relative(model, lists.scores[r][keep][None, :], lists.log_z[r : r + 1])[0].tolist()
        doc = {"input": {key_name: key}, "output": output, "error": None}
        fh.write(json.dumps(doc, separators=(",", ":")) + "\n")


def write_csv(writer: "csv._writer", model: Recommender, lists: Lists, kind: str) -> None:
    """One CSV row per recommended item."""
    for key, items, raw, s10, reason in _rows(model, lists):
        for rank, (item, v, s) in enumerate(zip(items, raw, s10), start=1):
            writer.writerow([kind, key, rank, item, f"{v:.6g}", s, reason, ""])


def write_records(fh: TextIO, writer: "csv._writer", fmt: str, rows: list[tuple[str, list[Recommendation]]]) -> None:
    """User lists given as records (buy-again lists): reasons and suggested quantities included.

    In Personalize JSON lines they are the extra output fields `reasons` and `suggestedQuantities`
    (null where none), which a Personalize reader ignores; `scores` are the records' relative scores
    (`ReorderModel.explain`: the runtime's values), absent for customers on the fallback.
    """
    for key, recs in rows:
        if fmt == "csv":
            for rank, r in enumerate(recs, start=1):
                writer.writerow(["user", key, rank, r.item_id, f"{r.score:.6g}", r.score10, r.reason,
                                 "" if r.quantity is None else f"{r.quantity:g}"])
            continue
        output: dict = {"recommendedItems": [r.item_id for r in recs]}
        if recs and all(r.relative is not None for r in recs):  # as the runtime gives them; none on the fallback
            output["scores"] = [r.relative for r in recs]
        output |= {"reasons": [r.reason for r in recs], "suggestedQuantities": [r.quantity for r in recs]}
        doc = {"input": {"userId": key}, "output": output, "error": None}
        fh.write(json.dumps(doc, separators=(",", ":")) + "\n")


def write_cache(store: Store, model: Recommender, lists: Lists, namespace: str, version: str,
                computed_at: int | None = None, feed_seq: int = 0) -> int:
    """Put each row's ranked (item, raw score) list in the store's recommendation cache.

    `computed_at` is when the batch read the events the lists were computed from, and
    `feed_seq` the store's change-feed position read just before.
    """
    rows = []
    for r, key in enumerate(lists.keys):
        keep = lists.idx[r] >= 0
        ids = model.items_.to_ids(lists.idx[r][keep])
        rows.append((key, list(zip(ids, np.round(lists.scores[r][keep].astype(float), 6).tolist()))))
    return store.put_recs(namespace, rows, version, computed_at, feed_seq)
