# SPDX-License-Identifier: Apache-2.0
"""Score users and items in chunks on a thread pool (numpy and scipy release the GIL)."""

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from homerec.data.interactions import Interactions
from homerec.models.base import Recommender
from homerec.models.relative import log_partition


@dataclass
class Lists:
    """One chunk of results: keys (user or item ids), top-k indices and raw scores, fallback rows."""

    keys: list[str]
    idx: np.ndarray
    scores: np.ndarray
    cold: np.ndarray
    log_z: np.ndarray | None = None
    """Per row, the normaliser of its Personalize-scale scores (`homerec.models.relative`), when asked for."""


def history_matrix(model: Recommender, data: Interactions, user_ids: Sequence[str]) -> tuple[np.ndarray, sp.csr_matrix]:
    """Model user indices (-1 when the model never saw the user) and their current history rows.

    Rows are built from `data` (the store now), so events newer than the model count; items
    the model does not know are dropped from the rows.
    """
    n_items = len(model.items_)
    data_item_to_model = model.items_.to_idx(data.items.ids.tolist(), strict=False)
    keep = data_item_to_model[data.item_idx] >= 0
    data_user_idx = data.users.to_idx(list(user_ids), strict=False)
    pos = np.full(data.n_users, -1, dtype=np.int64)
    listed = data_user_idx >= 0
    pos[data_user_idx[listed]] = np.flatnonzero(listed)
    rows = pos[data.user_idx]
    keep &= rows >= 0
    X = sp.csr_matrix(
        (data.weight[keep], (rows[keep], data_item_to_model[data.item_idx[keep]])),
        shape=(len(user_ids), n_items), dtype=np.float32,
    )
    X.sum_duplicates()
    return np.asarray(model.users_.to_idx(list(user_ids), strict=False)), X


def _parallel(tasks: list[Callable[[], Lists]], workers: int) -> Iterator[Lists]:
    """Run chunk tasks on `workers` threads, yielding results in order."""
    if workers <= 1:
        for t in tasks:
            with threadpool_limits(None):
                yield t()
        return

    def run(t: Callable[[], Lists]) -> Lists:
        with threadpool_limits(1):
            return t()

    with ThreadPoolExecutor(workers) as pool:
        yield from pool.map(run, tasks)


def recommend_users(
    model: Recommender, data: Interactions, user_ids: Sequence[str], k: int = 10,
    include_seen: bool = False, chunk: int = 2048, workers: int = 2, relative: bool = False,
) -> Iterator[Lists]:
    """Top-k per user, chunk by chunk; seen items are left out unless include_seen.

    With `relative`, each chunk also carries every row's Personalize-scale normaliser (the
    whole catalogue scored once more, before exclusions: the value the runtime API computes).
    """
    uidx, X = history_matrix(model, data, user_ids)
    user_ids = list(user_ids)

    def task(lo: int) -> Callable[[], Lists]:
        def run() -> Lists:
            hist = X[lo : lo + chunk]
            users = uidx[lo : lo + chunk]
            idx, scores, cold = model.recommend_batch(users, hist, k, None if include_seen else hist)
            log_z = None
            if relative:
                log_z = np.full(len(users), -np.inf)
                warm = np.flatnonzero(~cold)
                if len(warm):
                    log_z[warm] = log_partition(model, model.score(users[warm], hist[warm]))
            return Lists(user_ids[lo : lo + chunk], idx, scores, cold, log_z)
        return run

    yield from _parallel([task(lo) for lo in range(0, len(user_ids), chunk)], workers)


def similar_all(model: Recommender, k: int = 10, chunk: int = 1024, workers: int = 2) -> Iterator[Lists]:
    """Top-k similar items for every item of the model's catalog."""
    n = len(model.items_)
    ids = model.items_.ids.tolist()

    def task(lo: int) -> Callable[[], Lists]:
        def run() -> Lists:
            items = np.arange(lo, min(lo + chunk, n))
            idx, scores = model.similar_batch(items, k)
            return Lists(ids[lo : lo + chunk], idx, scores, np.zeros(len(items), bool))
        return run

    yield from _parallel([task(lo) for lo in range(0, n, chunk)], workers)
