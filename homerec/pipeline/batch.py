# SPDX-License-Identifier: Apache-2.0
"""homerec batch: every user's top-k (and every item's similar items) to a file and the cache."""

import csv
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from homerec.batch.inference import recommend_users, similar_all
from homerec.batch.output import CSV_HEADER, FORMATS, write_cache, write_csv, write_personalize, write_records
from homerec.data.ids import IdMap
from homerec.data.interactions import Interactions
from homerec.data.schema import SIMILAR_ITEMS, USER_RECS, Col
from homerec.errors import ConfigError, InputError
from homerec.models.new_items import with_new_items
from homerec.models.registry import Registry
from homerec.storage.base import Store

Progress = Callable[[str, int, int], None]
"""(task, done, total) callback."""


@dataclass
class BatchReport:
    """What a batch run wrote."""

    version: str
    n_users: int
    n_fallback_users: int
    n_items: int
    out: Path
    seconds: float


def read_user_file(path: Path) -> list[str]:
    """One user id a line; blank lines ignored."""
    if not path.exists():
        raise InputError(f"users file {path} does not exist")
    ids = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not ids:
        raise InputError(f"users file {path} lists no user id")
    return list(dict.fromkeys(ids))


def run_batch(
    store: Store, registry: Registry, out: Path, fmt: str = "personalize", k: int = 10,
    users_file: Path | None = None, similar_items: bool = False, include_seen: bool = False,
    chunk: int = 2048, workers: int = 2, event_weights: dict[str, float] | None = None,
    progress: Progress | None = None,
) -> BatchReport:
    """Write top-k lists for the listed users (default: every user in the store).

    With `include_seen`, a version trained with a re-order model writes buy-again lists (re-orders
    with due dates and suggested quantities, and discoveries, as of the newest event in the
    store); an older version lists its model's scores with nothing masked.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    tick = progress or (lambda _t, _d, _n: None)
    started = time.perf_counter()
    version = registry.active()
    # Products added since training are listed through their metadata, as the server does.
    model = with_new_items(registry.load(version), store.items())
    # The lists hold as of this read: an event that arrives while the batch runs makes its user's stale.
    snapshot = int(time.time())
    frame = store.interactions()
    users = store.users()
    user_map = IdMap.from_ids(users[Col.user_id].to_list(), "user") if users.height else None
    data = Interactions.from_frame(frame, event_weights, users=user_map, items=model.items_)
    user_ids = read_user_file(users_file) if users_file else data.users.ids.tolist()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    n_cold = done = 0
    with out.open("w", newline="") as fh:
        writer = csv.writer(fh)
        if fmt == "csv":
            writer.writerow(CSV_HEADER)
        if include_seen and "reorder" in registry.parts(version):
            reorder = registry.load_part("reorder", version, discovery=model)
            now = min(int(time.time()), data.max_ts() + 1)
            for found in reorder.recommend_batch(data, user_ids, now, k, workers):
                write_records(fh, writer, fmt, list(zip(found.keys, reorder.explain(found))))
                n_cold += int(found.cold.sum())
                done += len(found.keys)
                tick("users", done, len(user_ids))
        else:
            for lists in recommend_users(model, data, user_ids, k, include_seen, chunk, workers):
                _write(fh, writer, fmt, model, lists, "user")
                if not include_seen:  # the serving cache holds lists of what users have not bought yet
                    write_cache(store, model, lists, USER_RECS, version, snapshot)
                n_cold += int(lists.cold.sum())
                done += len(lists.keys)
                tick("users", done, len(user_ids))
        n_items = 0
        if similar_items:
            for lists in similar_all(model, k, workers=workers):
                _write(fh, writer, fmt, model, lists, "item")
                write_cache(store, model, lists, SIMILAR_ITEMS, version, snapshot)
                n_items += len(lists.keys)
                tick("items", n_items, len(model.items_))
    return BatchReport(version, len(user_ids), n_cold, n_items, out, time.perf_counter() - started)


def _write(fh, writer, fmt: str, model, lists, kind: str) -> None:
    if fmt == "personalize":
        write_personalize(fh, model, lists, kind)
    else:
        write_csv(writer, model, lists, kind)
