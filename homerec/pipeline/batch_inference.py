# SPDX-License-Identifier: Apache-2.0
"""Personalize batch-inference jobs: JSON-lines input files in, `<input file name>.out` files out.

    {"userId": "4638"}                                   → the user's list, scores on Personalize's scale
    {"userId": "891", "itemList": ["27", "886", "101"]}  → the items ranked for the user (scores sum to 1)
    {"itemId": "105"}                                    → related items (no scores, as SIMS)
    {"userId": "5", "filterValues": {"GENRES": "\\"horror\\""}}   → the job's filter with this line's values

Output lines echo the input: `{"input": …, "output": {"recommendedItems": […], "scores": […]}, "error": null}`;
a line that cannot be answered (not JSON, no id, an unknown item for ranking…) gets its `error`
and the rest of the file goes on. As Personalize, users are not cut from their own items: the
job's filter decides (`EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase")` leaves
them out). Users without history get the popular items, without scores.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from homerec.data.schema import Col
from homerec.errors import HomerecError, InputError, UnknownItem
from homerec.filters import BoundFilter, FilterData, bind, evaluate, parse
from homerec.models.base import FALLBACK_REASON, Recommender
from homerec.models.new_items import with_new_items
from homerec.models.registry import Registry
from homerec.models.relative import ranking_scores, relative, user_log_partition
from homerec.storage.base import Store

OUT_SUFFIX = ".out"


@dataclass
class InferenceReport:
    """What a batch-inference run wrote."""

    version: str
    files: list[Path]
    lines: int
    errors: int


class _Job:
    """One run's model, store views and filter."""

    def __init__(self, store: Store, model: Recommender, expression: str | None, k: int) -> None:
        self.store, self.model, self.k = store, model, k
        self.expression = parse(expression) if expression else None
        self._items = store.items()
        users = store.users()
        self._users = {r[Col.user_id]: r for r in users.to_dicts()} if Col.user_id in users.columns else {}
        self._universe = list(model.items_.ids)

    def _banned(self, line: dict[str, Any], user_id: str | None) -> set[str]:
        if self.expression is None:
            return set()
        bound: BoundFilter = bind(self.expression, line.get("filterValues"))
        data = FilterData(items=lambda: self._items,
                          history=lambda: self.store.history(user_id) if user_id is not None else _no_history(),
                          user=lambda: self._users.get(user_id) if user_id is not None else None)
        return evaluate(bound, data).excluded(self._universe)

    def answer(self, line: dict[str, Any]) -> dict[str, Any]:
        """The `output` of one input line (raises InputError / HomerecError for its `error`)."""
        user_id, item_id, item_list = line.get("userId"), line.get("itemId"), line.get("itemList")
        for name, value in (("userId", user_id), ("itemId", item_id)):
            if value is not None and not isinstance(value, str):
                raise InputError(f"{name} must be a string")
        banned = self._banned(line, user_id)
        if item_list is not None:
            if user_id is None or not isinstance(item_list, list) or not all(isinstance(i, str) for i in item_list):
                raise InputError("a ranking line needs userId and itemList (a list of item ids)")
            return self._rank(user_id, [i for i in item_list if i not in banned])
        if item_id is not None:
            try:
                recs = self.model.similar_items(item_id, self.k, exclude=banned)
            except UnknownItem:
                recs = self.model.recommend(None, self.k, exclude=banned | {item_id}, history=None)
            return {"recommendedItems": [r.item_id for r in recs]}
        if user_id is None:
            raise InputError("a line needs userId or itemId")
        history = self.store.user_items(user_id)[0]
        recs = self.model.recommend(user_id, self.k, exclude=banned, history=history, exclude_seen=False)
        out: dict[str, Any] = {"recommendedItems": [r.item_id for r in recs]}
        log_z = user_log_partition(self.model, user_id, history)
        if log_z is not None and recs and all(r.reason != FALLBACK_REASON for r in recs):
            out["scores"] = relative(self.model, [[r.score for r in recs]], [log_z])[0].tolist()
        return out

    def _rank(self, user_id: str, item_list: list[str]) -> dict[str, Any]:
        history = self.store.user_items(user_id)[0]
        ranked = self.model.rank(user_id, item_list, history=history)
        known = [not r.reason.startswith("not scored") and r.reason != FALLBACK_REASON for r in ranked]
        out: dict[str, Any] = {"recommendedItems": [r.item_id for r in ranked]}
        if any(known):
            out["scores"] = ranking_scores(self.model, [r.score for r in ranked], known)
        return out


def _no_history() -> pl.DataFrame:
    return pl.DataFrame(schema={Col.item_id: pl.String, Col.event_type: pl.String, Col.event_value: pl.Float64,
                                Col.ts: pl.Int64})


def run_batch_inference(
    store: Store, registry: Registry, inputs: list[Path], out_dir: Path, version: str | None = None,
    filter_expression: str | None = None, k: int = 25, progress: Callable[[str, int, int], None] | None = None,
) -> InferenceReport:
    """Answer every line of every input file into `out_dir/<name>.out` (see the module's docstring)."""
    tick = progress or (lambda _t, _d, _n: None)
    version = version or registry.active()
    if version is None:
        raise InputError("no trained model: run `homerec train` first")
    model = with_new_items(registry.load(version), store.items())
    job = _Job(store, model, filter_expression, k)
    out_dir.mkdir(parents=True, exist_ok=True)
    written, n_lines, n_errors = [], 0, 0
    for path in inputs:
        target = out_dir / (path.name + OUT_SUFFIX)
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        with target.open("w") as fh:
            for n, text in enumerate(lines, start=1):
                if not text.strip():
                    continue
                doc, n_errors = _line(job, text, n_errors)
                fh.write(json.dumps(doc, separators=(",", ":")) + "\n")
                n_lines += 1
                if n % 1000 == 0:
                    tick(path.name, n, len(lines))
        written.append(target)
    return InferenceReport(version, written, n_lines, n_errors)


def _line(job: _Job, text: str, n_errors: int) -> tuple[dict[str, Any], int]:
    try:
        line = json.loads(text)
    except json.JSONDecodeError as err:
        return {"input": text, "output": None, "error": f"not JSON: {err.msg}"}, n_errors + 1
    if not isinstance(line, dict):
        return {"input": line, "output": None, "error": "a line must be a JSON object"}, n_errors + 1
    try:
        return {"input": line, "output": job.answer(line), "error": None}, n_errors
    except (HomerecError, ValueError) as err:
        return {"input": line, "output": None, "error": str(err)}, n_errors + 1
