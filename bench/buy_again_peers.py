# SPDX-License-Identifier: Apache-2.0
"""Peers of the buy-again protocol, as list makers `(task, features, params, k) -> top-k indices`.

Textbook versions of the protocol's peers (`benchmark-protocol.md`, "Buy-again"): popularity,
the user's own purchase counts, the same decayed by age, and a TIFU-KNN-style blend of the
user's decayed vector with its nearest neighbours'. Every personal peer has popularity fill
the places its own scores leave (a tie-break far below one purchase), which only helps it.
"""

from typing import Any

import numpy as np
import scipy.sparse as sp

from homerec.data.features import ItemFeatures
from homerec.evaluation.buy_again import BuyAgainTask
from homerec.models.topk import top_k

DAY = 86_400.0
CHUNK = 1024


def _popularity(task: BuyAgainTask) -> np.ndarray:
    """Distinct train buyers per item."""
    t = task.train
    keys = np.unique(t.user_idx.astype(np.int64) * t.n_items + t.item_idx)
    return np.bincount(keys % t.n_items, minlength=t.n_items).astype(np.float64)


def _decayed_matrix(task: BuyAgainTask, half_life_days: float | None) -> sp.csr_matrix:
    """User × item sums of event weights, each times 0.5 ** (age / half-life) when a half-life is given."""
    t = task.train
    w = t.weight.astype(np.float64)
    if half_life_days is not None:
        w = w * np.exp2(-(task.now - t.ts) / DAY / half_life_days)
    m = sp.csr_matrix((w, (t.user_idx, t.item_idx)), shape=(t.n_users, t.n_items))
    m.sum_duplicates()
    return m


def _top_of(rows: sp.csr_matrix | np.ndarray, fill: np.ndarray, k: int) -> np.ndarray:
    """Top-k of dense(rows) + fill, chunk by chunk (fill is far below any personal score)."""
    out = []
    for a in range(0, rows.shape[0], CHUNK):
        block = rows[a : a + CHUNK]
        dense = block.toarray() if sp.issparse(block) else np.asarray(block)
        out.append(top_k(dense + fill[None, :], k)[0])
    return np.concatenate(out) if out else np.zeros((0, k), np.int64)


def _fill(pop: np.ndarray, scale: float) -> np.ndarray:
    return scale * pop / (pop.max() + 1.0)


def popularity(task: BuyAgainTask, features: ItemFeatures | None, params: dict[str, Any], k: int) -> np.ndarray:
    """The same most-bought list for everyone."""
    pop = _popularity(task)
    return np.tile(top_k(pop, k)[0], (len(task.users), 1))


def personal_frequency(task: BuyAgainTask, features: ItemFeatures | None, params: dict[str, Any], k: int) -> np.ndarray:
    """The user's own purchase counts; popularity fills the rest."""
    m = _decayed_matrix(task, None)[task.users]
    return _top_of(m, _fill(_popularity(task), 1e-3), k)


def decayed_frequency(task: BuyAgainTask, features: ItemFeatures | None, params: dict[str, Any], k: int) -> np.ndarray:
    """Purchases weighted 0.5 ** (age / half-life); popularity fills the rest."""
    m = _decayed_matrix(task, params["half_life_days"])[task.users]
    return _top_of(m, _fill(_popularity(task), 1e-9), k)


def tifu_knn(task: BuyAgainTask, features: ItemFeatures | None, params: dict[str, Any], k: int) -> np.ndarray:
    """alpha * own decayed L2-normalised vector + (1 - alpha) * mean of its k nearest neighbours' (cosine)."""
    m = _decayed_matrix(task, params["half_life_days"])
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    v = sp.csr_matrix(sp.diags(1.0 / np.maximum(norms, 1e-12)) @ m)
    has = np.flatnonzero(norms > 0)
    others = sp.csr_matrix(v[has], dtype=np.float32)
    n_nb, alpha, fill = params["k_neighbors"], params["alpha"], _fill(_popularity(task), 1e-9)
    out = []
    for a in range(0, len(task.users), CHUNK):
        users = task.users[a : a + CHUNK]
        own = v[users]
        sims = np.asarray(others @ own.toarray().T.astype(np.float32)).T  # sparse × dense: cosines to everyone
        sims[has[None, :] == users[:, None]] = -np.inf  # never one's own neighbour
        kk = min(n_nb, sims.shape[1])
        nb = np.argpartition(-sims, kk - 1, axis=1)[:, :kk] if kk < sims.shape[1] else np.tile(np.arange(kk), (len(users), 1))
        rows = np.repeat(np.arange(len(users)), kk)
        pick = sp.csr_matrix((np.full(rows.size, 1.0 / kk), (rows, has[nb.ravel()])), shape=(len(users), m.shape[0]))
        blend = alpha * own.toarray() + (1.0 - alpha) * (pick @ v).toarray()
        out.append(top_k(blend + fill[None, :], k)[0])
    return np.concatenate(out) if out else np.zeros((0, k), np.int64)


BUY_AGAIN_PEERS = {
    "popularity": (popularity, [{}]),
    "personal-frequency": (personal_frequency, [{}]),
    "decayed-frequency": (decayed_frequency, [{"half_life_days": h} for h in (7.0, 30.0, 90.0, 365.0)]),
    "tifu-knn": (tifu_knn, [{"half_life_days": h, "k_neighbors": n, "alpha": a}
                            for h in (30.0, 180.0) for n in (50, 300) for a in (0.7, 0.9)]),
}
"""Peer name → (list maker, tuning grid)."""
