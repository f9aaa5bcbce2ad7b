# SPDX-License-Identifier: Apache-2.0
"""homerec segments: the customers likeliest to buy products, as Personalize batch segment output.

Each query is an item id (Item-Affinity) or an item attribute expression (Item-Attribute-
Affinity); each output line is `{"input": {"itemId": ...} | {"itemAttributes": ...},
"output": {"recommendedUsers": [...], "scores": [...]}, "error": null}` (`scores` is an
extra field a Personalize reader ignores; a query that fails keeps its line, with the
message in `error`).
"""

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from homerec.data.interactions import Interactions
from homerec.errors import HomerecError, InputError
from homerec.models.registry import Registry
from homerec.models.segments import SegmentModel
from homerec.storage.base import Store

ITEM_KEY, ATTRIBUTES_KEY = "itemId", "itemAttributes"


@dataclass
class SegmentReport:
    """What a segments run wrote."""

    version: str
    n_queries: int
    n_failed: int
    out: Path
    seconds: float


def read_segment_queries(path: Path) -> list[tuple[str, str]]:
    """(key, value) queries from a Personalize batch segment input file (JSON lines).

    Raises:
        InputError: a line is not a JSON object with an itemId or itemAttributes string.
    """
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    queries = []
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as err:
            raise InputError(f"{path}:{n}: not JSON: {err}") from None
        found = [(key, doc[key]) for key in (ITEM_KEY, ATTRIBUTES_KEY) if isinstance(doc, dict) and key in doc]
        if len(found) != 1 or not isinstance(found[0][1], str):
            raise InputError(f"{path}:{n}: expected {{\"{ITEM_KEY}\": ...}} or {{\"{ATTRIBUTES_KEY}\": ...}}")
        queries.append(found[0])
    return queries


def current_model(store: Store, registry: Registry, version: str | None = None) -> SegmentModel:
    """The version's segment model with its customer profiles refreshed from the store's events."""
    model: SegmentModel = registry.load_part("segments", version)
    frame = store.interactions()
    if frame.height:
        model.refresh(Interactions.from_frame(frame, users=model.users_, items=model.items_))
    return model


def run_segments(
    store: Store, registry: Registry, out: Path, queries: Sequence[tuple[str, str]], k: int = 100,
    include_buyers: bool = False,
) -> SegmentReport:
    """Write one segment line per query (`(ITEM_KEY, id)` or `(ATTRIBUTES_KEY, expression)`)."""
    if not queries:
        raise InputError("give at least one --item, --attribute or --input query")
    started = time.perf_counter()
    version = registry.active() or ""
    model = current_model(store, registry)
    catalog = store.items()
    failed = 0
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w") as fh:
        for key, value in queries:
            doc: dict = {"input": {key: value}, "output": {"recommendedUsers": []}, "error": None}
            try:
                ranked = (model.likeliest_users(value, k, catalog, include_buyers) if key == ATTRIBUTES_KEY
                          else model.for_items([value], k, include_buyers))
                doc["output"] = {"recommendedUsers": [u for u, _ in ranked], "scores": [s for _, s in ranked]}
            except HomerecError as err:
                failed += 1
                doc["error"] = str(err)
            fh.write(json.dumps(doc, separators=(",", ":")) + "\n")
    return SegmentReport(version, len(queries), failed, out, time.perf_counter() - started)
