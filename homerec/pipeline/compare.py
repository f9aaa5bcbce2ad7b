# SPDX-License-Identifier: Apache-2.0
"""homerec compare: two sources' top-k lists for the same users, side by side, with a verdict.

The store gives the catalog, each user's history before the cut-off (`since`: what model
sources score from, and what item popularity is counted on) and the interactions at or after
it (the held-out future the accuracy metrics are measured on).
"""

import datetime as dt
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import polars as pl

from homerec.data.schema import Col
from homerec.errors import InputError
from homerec.evaluation.categories import category_matrix
from homerec.evaluation.compare import Reach, TopK, compare_topk, dedupe
from homerec.evaluation.compare_report import verdict
from homerec.experiments.source import Source, parse_source
from homerec.models.registry import Registry
from homerec.pipeline.batch import read_user_file
from homerec.pipeline.sources import (
    Fetched, Progress, check_source, endpoint_lists, model_lists, read_batch_file,
)
from homerec.storage.base import Store

CODE, ROW = "_code", "_row"


def parse_since(text: str, option: str = "--since") -> int:
    """Epoch seconds of YYYY-MM-DD, an ISO date-time (UTC unless it names a zone) or epoch seconds."""
    value = text.strip()
    if value.isdigit():
        return int(value)
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise InputError(f"bad {option} {text!r}: expected YYYY-MM-DD, an ISO date-time or epoch seconds") from None
    return int((when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp())


def run_compare(
    store: Store, registry: Registry, a: str, b: str, k: int = 10, users_file: Path | None = None,
    since: int | None = None, event_type: str | None = None, event_weights: dict[str, float] | None = None,
    chunk: int = 2048, workers: int = 2, progress: Progress | None = None,
    say: Callable[[str], None] | None = None,
) -> dict:
    """Compare sources `a` and `b` (SOURCE strings); returns the JSON-ready report with its verdict."""
    note = say or (lambda _m: None)
    started = time.perf_counter()
    sources = [parse_source(a), parse_source(b)]
    labels = [check_source(s, registry) for s in sources]
    note("reading interactions from the store")
    frame = store.interactions()
    if event_type is not None and event_type not in set(frame[Col.event_type].unique().to_list()):
        known = ", ".join(sorted(frame[Col.event_type].unique().drop_nulls().to_list())) or "none"
        raise InputError(f"no {event_type!r} events in the store (event types: {known})")
    before = frame if since is None else frame.filter(pl.col(Col.ts) < since)
    files = {i: read_batch_file(s.target, k) for i, s in enumerate(sources) if s.kind == "file"}
    users, users_from = _users(users_file, list(files.values()), before, since)
    note(f"comparing {len(users):,} users ({users_from})")
    catalog = store.items() if any(s.kind == "model" for s in sources) else None
    fetched = [files[i] if i in files else _fetch(s, registry, before, users, k, event_weights, chunk, workers,
                                                  progress, catalog)
               for i, s in enumerate(sources)]

    vocab, n_catalog = _vocabulary(store, frame, fetched)
    rows = pl.DataFrame({Col.user_id: users, ROW: np.arange(len(users))}, schema={Col.user_id: pl.String, ROW: pl.Int64})
    typed = _typed(before, event_type)
    counts = _item_counts(typed, vocab)
    truth = None if since is None else _truth(_typed(frame.filter(pl.col(Col.ts) >= since), event_type), rows, vocab)
    reach = Reach(_item_counts(typed.unique([Col.user_id, Col.item_id]), vocab), typed[Col.user_id].n_unique(),
                  category_matrix(catalog if catalog is not None else store.items(), vocab[Col.item_id].to_list(),
                                  Col.item_id))
    result = compare_topk(*(_encode(f.lists, rows, vocab, k) for f in fetched), k, counts, n_catalog, truth, reach)
    for key, source, label, f in zip("ab", sources, labels, fetched):
        result[key]["source"] = {"spec": str(source), "kind": source.kind, "label": label,
                                 "users_answered": len(f.answered), **f.info}
    report = {
        "since": since, "since_date": _date(since), "event_type": event_type, "users_from": users_from,
        "store": store.url, "warnings": _warnings(result, registry, sources, fetched, users, since),
        **result, "seconds": round(time.perf_counter() - started, 2),
    }
    report["verdict"] = verdict(report)
    return report


def _fetch(source: Source, registry: Registry, before: pl.DataFrame, users: list[str], k: int,
           event_weights: dict[str, float] | None, chunk: int, workers: int, progress: Progress | None,
           catalog: pl.DataFrame | None = None) -> Fetched:
    if source.kind == "model":
        return model_lists(source, registry, before, users, k, event_weights, chunk, workers, progress, catalog)
    return endpoint_lists(source, users, k, progress=progress)


def _users(users_file: Path | None, files: Sequence[Fetched], before: pl.DataFrame,
           since: int | None) -> tuple[list[str], str]:
    """The users compared and where they came from: the file, the sources' files, or the store's history."""
    if users_file is not None:
        return read_user_file(users_file), f"--users {users_file}"
    if files:
        common = set(files[0].answered).intersection(*(set(f.answered) for f in files[1:]))
        users = [u for u in files[0].answered if u in common]
        where = "users both files answer for" if len(files) > 1 else "users the file answers for"
    else:
        users = before[Col.user_id].unique(maintain_order=True).to_list()
        where = "users with history before --since" if since is not None else "users with history"
    if not users:
        raise InputError(f"no users to compare ({where}): give --users FILE")
    return users, where


def _typed(frame: pl.DataFrame, event_type: str | None) -> pl.DataFrame:
    return frame if event_type is None else frame.filter(pl.col(Col.event_type) == event_type)


def _vocabulary(store: Store, frame: pl.DataFrame, fetched: Sequence[Fetched]) -> tuple[pl.DataFrame, int]:
    """item_id → code: the catalog (store items, then items with events) first, then items only lists name."""
    catalog = pl.concat([store.items()[Col.item_id], frame[Col.item_id]]).cast(pl.String).unique(maintain_order=True)
    named = pl.concat([f.lists[Col.item_id] for f in fetched]).unique(maintain_order=True)
    ids = pl.concat([catalog, named.filter(~named.is_in(catalog.implode()))])
    return pl.DataFrame({Col.item_id: ids, CODE: np.arange(len(ids))}), len(catalog)


def _encode(lists: pl.DataFrame, rows: pl.DataFrame, vocab: pl.DataFrame, k: int) -> TopK:
    """Long-form lists → (users × k) codes and scores, row order of `rows`."""
    j = lists.filter(pl.col("rank") < k).join(rows, on=Col.user_id).join(vocab, on=Col.item_id)
    idx = np.full((rows.height, k), -1, dtype=np.int64)
    scores = np.full((rows.height, k), np.nan)
    r, c = j[ROW].to_numpy(), j["rank"].to_numpy()
    idx[r, c] = j[CODE].to_numpy()
    scores[r, c] = j["score"].fill_null(np.nan).to_numpy()
    return TopK(dedupe(idx), scores)


def _item_counts(frame: pl.DataFrame, vocab: pl.DataFrame) -> np.ndarray:
    """Events per item code (popularity before the cut-off)."""
    per_item = frame.group_by(Col.item_id).len().with_columns(pl.col(Col.item_id).cast(pl.String)).join(vocab, on=Col.item_id)
    counts = np.zeros(vocab.height, dtype=np.float64)
    counts[per_item[CODE].to_numpy()] = per_item["len"].to_numpy()
    return counts


def _truth(future: pl.DataFrame, rows: pl.DataFrame, vocab: pl.DataFrame) -> list[np.ndarray]:
    """Per compared user, the distinct item codes of their future events."""
    pairs = (future.select(pl.col(Col.user_id).cast(pl.String), pl.col(Col.item_id).cast(pl.String))
             .join(rows, on=Col.user_id).join(vocab, on=Col.item_id)
             .select(ROW, CODE).unique().sort(ROW, CODE))
    r, codes = pairs[ROW].to_numpy(), pairs[CODE].to_numpy()
    bounds = np.searchsorted(r, np.arange(rows.height + 1))
    return [codes[bounds[i] : bounds[i + 1]] for i in range(rows.height)]


def _warnings(result: dict, registry: Registry, sources: Sequence[Source], fetched: Sequence[Fetched],
              users: Sequence[str], since: int | None) -> list[str]:
    """What a reader must know before trusting the figures."""
    out = []
    for key, source, f in zip("AB", sources, fetched):
        missing = len(users) - len(set(f.answered).intersection(users))
        if missing:
            out.append(f"{key} ({source}) has no list for {missing:,} of the {len(users):,} users (counted as empty lists).")
        if f.info.get("errors"):
            out.append(f"{key} ({source}): {f.info['errors']:,} users failed, e.g. {f.info.get('first_error')}")
        trained = registry.info(f.info["version"]).meta.get("trained_until") if "version" in f.info else None
        if since is not None and trained is not None and int(trained) >= since:
            out.append(f"{key} ({source}) was trained on events up to {_date(int(trained))}, after --since "
                       f"{_date(since)}: it has seen the 'future' it is measured on, so its HR/NDCG are optimistic.")
        if n := result[key.lower()]["items_not_in_catalog"]:
            out.append(f"{key} ({source}) recommends {n:,} items the store's catalog does not hold.")
    return out


def _date(ts: int | None) -> str | None:
    return None if ts is None else dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
