# SPDX-License-Identifier: Apache-2.0
"""The basket-completion protocol and the tuning of the basket model on validation baskets.

Protocol (`benchmark-protocol.md`, "Basket completion"): a basket is one user's lines of one
order (the order id, else the same timestamp) with at least two distinct items. Test baskets
start at or after the temporal cutoff; up to 20,000 are sampled (numpy seed 0, over baskets in
(user, order) order), and one item of each is hidden at random with the same generator: the
rest is the cart, the list is top-10 excluding the cart, and a hit is the hidden item in it.
HR@10 and MRR@10 are averaged over test baskets; breadth is the catalog coverage of the lists
and the share of list slots taken by the most listed item.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from homerec.data.interactions import Interactions
from homerec.evaluation.split import Split
from homerec.evaluation.tuning import validation_split
from homerec.models.basket import SIGNALS, BasketModel

MAX_BASKETS = 20_000


@dataclass(frozen=True)
class BasketTask:
    """Carts (one row per test basket) with their user, time and hidden item, and the train events."""

    train: Interactions
    carts: sp.csr_matrix
    users: np.ndarray
    ts: np.ndarray
    hidden: np.ndarray


def basket_task(split: Split, max_baskets: int = MAX_BASKETS, seed: int = 0) -> BasketTask:
    """Test baskets of the split with one item hidden each (see the module docstring)."""
    test = split.test
    basket = test.baskets()
    key = np.unique(basket.astype(np.int64) * test.n_items + test.item_idx)
    b, item = np.divmod(key, test.n_items)
    starts = np.flatnonzero(np.r_[True, b[1:] != b[:-1]])
    sizes = np.diff(np.r_[starts, len(b)])
    keep = np.flatnonzero(sizes >= 2)
    rng = np.random.default_rng(seed)
    if len(keep) > max_baskets:
        keep = np.sort(rng.choice(keep, max_baskets, replace=False))
    hide = starts[keep] + rng.integers(0, sizes[keep])
    rows = np.repeat(np.arange(len(keep)), sizes[keep])
    cols = np.concatenate([item[starts[j] : starts[j] + sizes[j]] for j in keep]) if len(keep) else item[:0]
    lines = np.concatenate([np.arange(starts[j], starts[j] + sizes[j]) for j in keep]) if len(keep) else item[:0]
    in_cart = ~np.isin(lines, hide)
    carts = sp.csr_matrix((np.ones(in_cart.sum(), np.float32), (rows[in_cart], cols[in_cart])),
                          shape=(len(keep), test.n_items))
    n_baskets = int(basket.max()) + 1 if len(basket) else 0
    owner = np.zeros(n_baskets, dtype=np.int64)
    owner[basket] = test.user_idx
    when = np.full(n_baskets, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(when, basket, test.ts)
    ids = b[starts[keep]]
    return BasketTask(split.train, carts, owner[ids], when[ids], item[hide])


def basket_metrics(idx: np.ndarray, hidden: np.ndarray, k: int, n_items: int) -> dict[str, float]:
    """HR@k, MRR@k, catalog coverage and the top-item share of the lists."""
    top = idx[:, :k]
    hit = top == hidden[:, None]
    first = np.where(hit.any(axis=1), hit.argmax(axis=1) + 1, 0)
    filled = top[top >= 0]
    return {
        f"HR@{k}": float(hit.any(axis=1).mean()) if len(top) else 0.0,
        f"MRR@{k}": float(np.where(first > 0, 1.0 / np.maximum(first, 1), 0.0).mean()) if len(top) else 0.0,
        f"Coverage@{k}": float(len(np.unique(filled)) / n_items) if n_items else 0.0,
        f"TopItemShare@{k}": float(np.bincount(filled).max() / len(filled)) if len(filled) else 0.0,
    }


Completer = Callable[[BasketTask, dict[str, Any], int], np.ndarray]
"""(task, params, k) -> top-k item indices per cart, never a cart item."""


def tune_and_score(
    complete: Completer, grid: Sequence[dict[str, Any]], split: Split, k: int = 10, metric: str = "HR@10",
) -> dict[str, Any]:
    """Pick params on validation baskets by `metric`, then score them on the test baskets."""
    best, tried = dict(grid[0]), []
    if len(grid) > 1:
        inner = basket_task(validation_split(split.train))
        for params in grid:
            tried.append((dict(params), basket_metrics(complete(inner, params, k), inner.hidden, k,
                                                       inner.train.n_items)[metric]))
        best = dict(max(tried, key=lambda t: t[1])[0])
    outer = basket_task(split)
    return {"metrics": basket_metrics(complete(outer, best, k), outer.hidden, k, split.train.n_items),
            "best_params": best, "validation": tried, "n_baskets": int(outer.carts.shape[0])}


CHUNK_CELLS = 16_000_000
POOL = 50
STEPS = (0.0, 0.3, 0.6, 1.5, 3.0)


def habit_matrix(train: Interactions, users: np.ndarray, half_life_days: float) -> sp.csr_matrix:
    """Rows of the users' train purchases decayed from the end of train (a row's scale does not
    matter: the basket model scales each signal per row)."""
    w = train.weight * np.exp2(-(train.max_ts() - train.ts) / 86_400.0 / half_life_days)
    m = sp.csr_matrix((w, (train.user_idx, train.item_idx)), shape=(train.n_users, train.n_items), dtype=np.float32)
    m.sum_duplicates()
    return m[users]


def complete_task(model: BasketModel, task: BasketTask, k: int) -> np.ndarray:
    """The model's top-k for every cart of the task, in row chunks."""
    habits = habit_matrix(task.train, task.users, model.half_life_days)
    step = max(1, CHUNK_CELLS // max(task.train.n_items, 1))
    parts = [model.complete_batch(task.carts[a : a + step], habits[a : a + step], k)[0]
             for a in range(0, task.carts.shape[0], step)]
    return np.concatenate(parts) if parts else np.zeros((0, k), np.int64)


def _row_top(m: sp.csr_matrix, r: int, banned: np.ndarray, n: int) -> np.ndarray:
    """The n largest entries' columns of row r of `m`, leaving out `banned` columns."""
    cols, vals = m.indices[m.indptr[r] : m.indptr[r + 1]], m.data[m.indptr[r] : m.indptr[r + 1]]
    ok = ~np.isin(cols, banned) & (vals > 0)
    cols, vals = cols[ok], vals[ok]
    return cols[np.argsort(-vals, kind="stable")[:n]]


def _row_values(m: sp.csr_matrix, r: int, cols: np.ndarray) -> np.ndarray:
    """Row r of `m` (sorted indices) at `cols`, divided by the row's largest value."""
    idx, vals = m.indices[m.indptr[r] : m.indptr[r + 1]], m.data[m.indptr[r] : m.indptr[r + 1]]
    if len(idx) == 0:
        return np.zeros(len(cols))
    pos = np.minimum(np.searchsorted(idx, cols), len(idx) - 1)
    top = vals.max()
    return np.where(idx[pos] == cols, vals[pos], 0.0) / (top if top > 0 else 1.0)


def _pools(model: BasketModel, task: BasketTask) -> tuple[np.ndarray, np.ndarray]:
    """Per cart, the union of each signal's top `POOL` items: signal values (S, carts, C) and hits (carts, C).

    Works on the sparse signals, so a large catalogue costs no dense rows.
    """
    sparse = model.sparse_signals(task.carts, habit_matrix(task.train, task.users, model.half_life_days))
    popularity = model.popularity_ / max(float(model.popularity_.max()), 1e-9)
    by_popularity = np.argsort(-popularity, kind="stable")
    width = len(SIGNALS) * POOL
    values = np.full((len(SIGNALS), task.carts.shape[0], width), -1.0)
    hits = np.zeros((task.carts.shape[0], width), dtype=bool)
    for r in range(task.carts.shape[0]):
        cart = task.carts.indices[task.carts.indptr[r] : task.carts.indptr[r + 1]]
        popular = by_popularity[: POOL + len(cart)]
        found = [_row_top(m, r, cart, POOL) for m in sparse.values()] + [popular[~np.isin(popular, cart)][:POOL]]
        cand = np.unique(np.concatenate(found))
        for j, name in enumerate(SIGNALS):
            values[j, r, : len(cand)] = popularity[cand] if name == "popularity" else _row_values(sparse[name], r, cand)
        hits[r, : len(cand)] = cand == task.hidden[r]
    return values, hits


def _hit_rate(values: np.ndarray, hits: np.ndarray, w: np.ndarray, k: int) -> float:
    """HR@k of the blend `w` over candidate pools (a hidden item outside its pool is a miss)."""
    blended = np.tensordot(w, values, axes=1)
    blended[values[0] < 0] = -np.inf
    target = np.where(hits, blended, -np.inf).max(axis=1)
    ahead = (blended >= target[:, None]).sum(axis=1)  # the hidden item itself, and ties count against it
    return float((hits.any(axis=1) & (ahead <= k)).mean())


def search_weights(values: np.ndarray, hits: np.ndarray, k: int, rounds: int = 3,
                   used: Sequence[str] = SIGNALS) -> tuple[np.ndarray, float]:
    """Coordinate ascent over the weights of the `used` signals for HR@k, from equal and single-signal starts."""
    on = np.array([name in used for name in SIGNALS], dtype=float)
    starts = [on] + [row for row in np.eye(len(SIGNALS)) if (row * on).any()]
    best_w = max(starts, key=lambda w: _hit_rate(values, hits, w, k))
    best = _hit_rate(values, hits, best_w, k)
    for _ in range(rounds):
        before = best
        for j in np.flatnonzero(on):
            for step in STEPS:
                w = best_w.copy()
                w[j] = best_w[j] * step if best_w[j] > 0 else step * best_w.max()
                if w.any() and (s := _hit_rate(values, hits, w, k)) > best + 1e-9:
                    best, best_w = s, w
        if best <= before:
            break
    return best_w / best_w.max(), best


def fit_basket(
    train: Interactions, k: int = 10, max_baskets: int = 5_000, progress: Callable[[str], None] | None = None,
    alphas: Sequence[float] = (0.0, 0.5, 1.0), half_lives: Sequence[float] = (30.0, 90.0, 365.0),
    signals: Sequence[str] = SIGNALS,
) -> BasketModel:
    """A basket model tuned on validation baskets (alpha, half-life, the weights of `signals`; the
    others weigh 0), refit on `train`."""
    say = progress or (lambda _m: None)
    inner = validation_split(train)
    task = basket_task(inner, max_baskets)
    if task.carts.shape[0] == 0:
        say("no validation baskets with two items: default basket weights")
        return BasketModel().fit(train)
    say(f"tuning the basket model on {task.carts.shape[0]:,} validation baskets")
    best: tuple[float, dict[str, Any]] = (-1.0, {})
    for alpha in alphas:
        model = BasketModel(alpha=alpha).fit(inner.train)
        for half_life in half_lives if "habits" in signals else half_lives[:1]:
            model.half_life_days = half_life
            w, score = search_weights(*_pools(model, task), k, used=signals)
            if score > best[0]:
                weights = {n: round(float(x), 4) for n, x in zip(SIGNALS, w)}
                best = (score, {"alpha": alpha, "half_life_days": half_life, "weights": weights})
    say(f"basket model: validation HR@{k} {best[0]:.4f} with {best[1]}")
    model = BasketModel(**best[1]).fit(train)
    model.validation_hr_ = best[0]
    return model
