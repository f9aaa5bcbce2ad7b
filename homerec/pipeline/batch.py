# SPDX-License-Identifier: Apache-2.0
"""homerec batch: every user's top-k (and every item's similar items) to a file and the cache."""

import contextlib
import csv
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from homerec.batch.inference import Lists, recommend_users, similar_all
from homerec.batch.output import CSV_HEADER, FORMATS, write_cache, write_csv, write_personalize, write_records
from homerec.data.ids import IdMap
from homerec.data.interactions import Interactions
from homerec.data.schema import SIMILAR_ITEMS, USER_RECS, Col
from homerec.errors import ConfigError, InputError
from homerec.models.base import Recommender
from homerec.models.new_items import with_new_items
from homerec.models.registry import Registry
from homerec.models.reorder import BuyAgainLists, ReorderModel
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
    out: Path | None
    """The file written (None: the serving cache only)."""
    seconds: float


def read_user_file(path: Path) -> list[str]:
    """One user id a line; blank lines ignored."""
    if not path.exists():
        raise InputError(f"users file {path} does not exist")
    ids = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not ids:
        raise InputError(f"users file {path} lists no user id")
    return list(dict.fromkeys(ids))


def check_format(fmt: str, out: Path | None = None, include_seen: bool = False) -> None:
    """ConfigError for an output format batch does not write; InputError for buy-again lists without a file."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if out is None and include_seen:
        raise InputError("buy-again lists (--include-seen) are not served from the cache: give --out FILE")


def run_batch(
    store: Store, registry: Registry, out: Path | None, fmt: str = "personalize", k: int = 10,
    users_file: Path | None = None, similar_items: bool = False, include_seen: bool = False,
    chunk: int = 2048, workers: int = 2, event_weights: dict[str, float] | None = None,
    progress: Progress | None = None,
) -> BatchReport:
    """Top-k lists for the listed users (default: every user in the store) to `out` and the serving cache.

    Without `out`, only the serving cache is refreshed (what a scheduled refresh does). With
    `include_seen`, a version trained with a re-order model writes buy-again lists (re-orders with
    due dates and suggested quantities, and discoveries, as of the newest event in the store); an
    older version lists its model's scores with nothing masked.
    """
    check_format(fmt, out, include_seen)
    tick = progress or (lambda _t, _d, _n: None)
    started = time.perf_counter()
    version = registry.active()
    # Products added since training are listed through their metadata, as the server does.
    model = with_new_items(registry.load(version), store.items())
    # The lists hold as of this read: a change after this position (an event that arrives while
    # the batch runs) makes its user's list stale.
    position = store.change_position()
    snapshot = int(time.time())
    frame = store.interactions()
    users = store.users()
    user_map = IdMap.from_ids(users[Col.user_id].to_list(), "user") if users.height else None
    data = Interactions.from_frame(frame, event_weights, users=user_map, items=model.items_)
    user_ids = read_user_file(users_file) if users_file else data.users.ids.tolist()
    reorder = registry.load_part("reorder", version, discovery=model) if (
        include_seen and "reorder" in registry.parts(version)) else None
    if reorder is not None:
        lists: Iterable[Lists] | Iterable[BuyAgainLists] = reorder.recommend_batch(data, user_ids, min(int(time.time()), data.max_ts() + 1), k, workers)
    else:
        lists = recommend_users(model, data, user_ids, k, include_seen, chunk, workers,
                                relative=out is not None and fmt == "personalize")
    job = BatchJob(store, model, version, snapshot, position, None if out is None else Path(out), fmt, k, include_seen,
                   similar_items, workers, reorder)
    n_cold, n_items = write_lists(job, lists, len(user_ids), tick)
    return BatchReport(version, len(user_ids), n_cold, n_items, job.out, time.perf_counter() - started)


@dataclass(frozen=True)
class BatchJob:
    """Where and how one batch run writes: the file (None: none), the cache (as of `snapshot` and the
    change-feed `position` read before the events), the model version."""

    store: Store
    model: Recommender
    version: str
    snapshot: int
    position: int
    out: Path | None
    fmt: str = "personalize"
    k: int = 10
    include_seen: bool = False
    similar_items: bool = False
    workers: int = 2
    reorder: ReorderModel | None = None
    """The version's re-order model when the user lists are its buy-again lists (`BuyAgainLists`)."""


def write_lists(job: BatchJob, user_lists: Iterable[Lists] | Iterable[BuyAgainLists], n_users: int, tick: Progress) -> tuple[int, int]:
    """Write every user's lists (then every item's similar items) to the file and the cache.

    Returns the number of users on the fallback and of items written. The serving cache
    gets only lists without seen items (``include_seen`` writes the file alone). Changes of
    the feed that no list needs any more are pruned at the end.
    """
    if job.out is not None:
        job.out.parent.mkdir(parents=True, exist_ok=True)
    n_cold = done = n_items = 0
    with job.out.open("w", newline="") if job.out is not None else contextlib.nullcontext() as fh:
        writer = csv.writer(fh) if fh is not None else None
        if job.fmt == "csv" and writer is not None:
            writer.writerow(CSV_HEADER)
        for lists in user_lists:
            if job.reorder is not None:  # buy-again lists: reasons and suggested quantities
                if fh is not None:
                    write_records(fh, writer, job.fmt, list(zip(lists.keys, job.reorder.explain(lists))))
            else:
                _write(fh, writer, job.fmt, job.model, lists, "user")
            if not job.include_seen:
                write_cache(job.store, job.model, lists, USER_RECS, job.version, job.snapshot, job.position)
            n_cold += int(lists.cold.sum())
            done += len(lists.keys)
            tick("users", done, n_users)
        if job.similar_items:
            for lists in similar_all(job.model, job.k, workers=job.workers):
                _write(fh, writer, job.fmt, job.model, lists, "item")
                write_cache(job.store, job.model, lists, SIMILAR_ITEMS, job.version, job.snapshot, job.position)
                n_items += len(lists.keys)
                tick("items", n_items, len(job.model.items_))
    job.store.prune_changes()
    return n_cold, n_items


def _write(fh, writer, fmt: str, model, lists, kind: str) -> None:
    if fh is None:
        return
    if fmt == "personalize":
        write_personalize(fh, model, lists, kind)
    else:
        write_csv(writer, model, lists, kind)
