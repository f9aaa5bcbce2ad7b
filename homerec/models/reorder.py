# SPDX-License-Identifier: Apache-2.0
"""ReorderModel: what a customer will buy next, re-orders and discoveries in one ranked list.

Candidates are the customer's past items (described by frequency, recency, their own
interval per product and whether it is due; see `reorder_features`) and the top items of a
discovery model, the not-yet-bought hybrid. A logistic regression learned on a validation
window (`fit(history, future, discovery)`: features as of the window's start, labels = what
each customer bought in it) turns the features into the probability of buying the item in
the coming horizon; its weights fix the proportion of re-orders and discoveries in a list.
A re-order carries its due date and suggested quantity (the usual units of the customer's
purchases of the item); a discovery keeps the discovery model's reason.
"""

import copy
import dataclasses
import time
from collections.abc import Collection, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ClassVar, Self

import numpy as np
import polars as pl
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from homerec.data.ids import IdMap
from homerec.data.interactions import Interactions
from homerec.errors import NotFitted
from homerec.models.base import FALLBACK_REASON, Recommender
from homerec.models.one_user import OneHistory
from homerec.models.part import Part
from homerec.models.purchase_stats import DAY, ItemStats, item_stats, pair_stats, purchases
from homerec.models.reorder_features import (
    FEATURES,
    HALF_LIVES_DAYS,
    Candidates,
    Discoveries,
    candidates,
)
from homerec.models.topk import mask_rows, top_k
from homerec.types import Recommendation

CHUNK_CELLS = 16_000_000
"""Users scored together: at most 2048, and at most this many (user, item) scores."""


@dataclasses.dataclass
class BuyAgainLists:
    """Top-k per requested user: item indices (-1 pads), probabilities, and for re-orders their
    due date (days from now, NaN for discoveries) and suggested quantity (NaN: unknown)."""

    keys: list[str]
    idx: np.ndarray
    scores: np.ndarray
    repeat: np.ndarray
    due_days: np.ndarray
    quantity: np.ndarray
    cold: np.ndarray
    """Rows whose user has no events: their list is the discovery model's fallback."""
    totals: np.ndarray
    """Per row, the summed probability of every candidate (before exclusions): a listed item's
    share of it is its score on Personalize's relative scale."""


def _masked(scores: np.ndarray, bought: sp.csr_matrix) -> np.ndarray:
    """`scores` with the bought items at -inf (in place): discoveries are items the user has not bought."""
    mask_rows(scores, bought)
    return scores


def _share(p: float, total: float) -> float | None:
    """`p`'s share of `total`, rounded down to 6 decimals (so a list's shares never sum past 1); None without a total."""
    return float(np.floor(float(p) / total * 1e6) / 1e6) if total > 0 else None


def due_phrase(days: float) -> str:
    """'due in 3 days', 'due tomorrow', 'due today', 'overdue by 2 days'."""
    d = int(round(float(days)))
    if d > 1:
        return f"due in {d} days"
    if d == 1:
        return "due tomorrow"
    if d == 0:
        return "due today"
    return f"overdue by {-d} day{'s' if d < -1 else ''}"


def reorder_reason(due_days: float, quantity: float) -> str:
    """`re-order: due in 2 days, usually 40 units` (the quantity part only when known)."""
    units = "" if not np.isfinite(quantity) else f", usually {quantity:g} unit{'' if quantity == 1 else 's'}"
    return f"re-order: {due_phrase(due_days)}{units}"


@dataclasses.dataclass
class ReorderModel(Part):
    """Buy-again ranking over a discovery model; hyper-parameters are the fields."""

    name: ClassVar[str] = "reorder"
    discovery_k: int = 30
    """Discovery candidates per customer."""
    regularization: float = 1.0
    """Inverse L2 strength of the logistic regression (scikit-learn's C)."""
    max_users: int = 20_000
    """Customers sampled from the validation window to learn the weights."""
    random_state: int = 0

    # ---- fit -------------------------------------------------------------------------------------
    def fit(self, history: Interactions, future: Interactions, discovery: Recommender, now: int | None = None) -> Self:
        """Learn the weights: features as of `now` (default: after `history`), labels from `future`.

        `discovery` is fitted on `history`; `future` shares its id maps.
        """
        started = time.perf_counter()
        now = int(history.max_ts() + 1 if now is None else now)
        self.horizon_days_ = max((future.max_ts() - now) / DAY, 1.0) if len(future) else 30.0
        self.trained_until_ = now
        self.attach(discovery)
        self._set_item_stats(history)
        both = np.intersect1d(np.unique(history.user_idx), np.unique(future.user_idx))
        rng = np.random.default_rng(self.random_state)
        rows = np.sort(rng.choice(both, min(self.max_users, len(both)), replace=False))
        user_ids = history.users.ids[rows].tolist()
        cand, _ = self._candidates(history.for_users(user_ids, self.items_), user_ids, now)
        pos = np.full(history.n_users, -1, dtype=np.int64)
        pos[rows] = np.arange(len(rows))
        fr = pos[future.user_idx]
        bought = np.unique(fr[fr >= 0] * len(self.items_) + future.item_idx[fr >= 0])
        y = np.isin(cand.row * len(self.items_) + cand.item, bought)
        std = cand.X.std(axis=0) if len(y) else np.ones(len(FEATURES), np.float32)
        self.mean_ = cand.X.mean(axis=0) if len(y) else np.zeros(len(FEATURES), np.float32)
        self.scale_ = np.where(std > 0, std, 1.0).astype(np.float32)
        if y.all() or not y.any():
            self.coef_ = np.zeros(len(FEATURES), np.float32)
            self.coef_[FEATURES.index("log_decay_60d")] = 1.0  # nothing to learn from: recent frequency
            self.intercept_ = np.float32(0.0)
        else:
            from sklearn.linear_model import LogisticRegression  # fitting only: serving never loads it

            lr = LogisticRegression(C=self.regularization, max_iter=1000)
            lr.fit((cand.X - self.mean_) / self.scale_, y)
            self.coef_, self.intercept_ = lr.coef_.ravel().astype(np.float32), np.float32(lr.intercept_[0])
        top = self._top(cand, self._probability(cand.X), len(rows), 10, user_ids, np.zeros(len(rows), bool))
        vals = top.scores[np.isfinite(top.scores)]
        self.calibration_ = np.quantile(vals if len(vals) else [0.0, 1.0], np.linspace(0, 1, 51)).astype(np.float32)
        self.fit_seconds_ = time.perf_counter() - started
        return self

    def _set_item_stats(self, data: Interactions) -> None:
        stats = item_stats(pair_stats(purchases(data), data.max_ts() + 1, HALF_LIVES_DAYS), data.n_items)
        self.buyers_, self.item_repeat_, self.item_interval_ = stats.buyers, stats.repeat_share, stats.interval_days

    def refresh(self, data: Interactions) -> Self:
        """Item statistics (buyers, re-buy share, typical interval) from all of `data`; the weights stay."""
        self._check_fitted()
        self._set_item_stats(data)
        self.trained_until_ = int(data.max_ts() + 1)
        return self

    def attach(self, discovery: Recommender) -> Self:
        """Use `discovery` (the not-yet-bought model of the same version) for new items."""
        self.discovery_ = discovery
        self.items_ = discovery.items_
        return self

    def with_discovery(self, discovery: Recommender) -> "ReorderModel":
        """This model drawing discoveries from `discovery` (e.g. the version's model with the products
        added since training): a shallow copy sharing the learned arrays, so serving threads never
        change a shared model."""
        if getattr(self, "discovery_", None) is discovery:
            return self
        return copy.copy(self).attach(discovery)

    def now(self, newest_event: int | None = None, clock: int | None = None) -> int:
        """The moment due dates are read at for one customer: the clock, but never later than the
        newest event known (training's or the customer's own, plus a second), so that data dated in
        the past (an evaluation, an import of old orders) is not all overdue."""
        clock = int(time.time()) if clock is None else int(clock)
        newest = max(int(self.trained_until_), int(newest_event) + 1 if newest_event is not None else 0)
        return min(clock, newest)

    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise NotFitted("reorder model is not fitted; call fit() or load() first")
        if not hasattr(self, "discovery_"):
            raise NotFitted("reorder model has no discovery model; call attach(model) first")

    # ---- scoring ---------------------------------------------------------------------------------
    def _item_stats(self) -> ItemStats:
        """Item statistics over `items_` (items added after training: no buyers, the median interval)."""
        n, extra = len(self.buyers_), len(self.items_) - len(self.buyers_)
        if extra <= 0:
            return ItemStats(self.buyers_[: len(self.items_)], self.item_repeat_[: len(self.items_)],
                             self.item_interval_[: len(self.items_)])
        pad = np.full(extra, float(np.median(self.item_interval_)) if n else 30.0, np.float32)
        zeros = np.zeros(extra, np.float32)
        return ItemStats(np.concatenate([self.buyers_, zeros]), np.concatenate([self.item_repeat_, zeros]),
                         np.concatenate([self.item_interval_, pad]))

    def _probability(self, X: np.ndarray) -> np.ndarray:
        z = ((X - self.mean_) / self.scale_) @ self.coef_ + self.intercept_
        return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)

    def _candidates(self, sub: Interactions, user_ids: Sequence[str], now: int) -> tuple[Candidates, np.ndarray]:
        """Candidates of the users of `sub` (rows) and which rows the discovery model could not personalise."""
        model, hist = self.discovery_, sub.to_csr()
        uidx = np.asarray(model.users_.to_idx(list(user_ids), strict=False))
        cold = model.is_cold(uidx, hist)
        scores = np.empty(hist.shape, dtype=np.float32)
        if (~cold).any():
            scores[~cold] = model.score(uidx[~cold], hist[~cold]) if cold.any() else model.score(uidx, hist)
        scores[cold] = model.fallback_
        found = Discoveries.of(scores.copy(), *top_k(_masked(scores, hist), self.discovery_k))
        return candidates(sub, now, self._item_stats(), self.horizon_days_, found), cold

    def _top(self, cand: Candidates, prob: np.ndarray, n_rows: int, k: int, keys: list[str],
             cold: np.ndarray, keep: np.ndarray | None = None) -> BuyAgainLists:
        """Top-k per row; candidates outside `keep` (exclusions) are never listed but count in `totals`."""
        allowed = getattr(self.discovery_, "recommendable_", None)  # the version's non-product rule
        if allowed is not None:
            ok = allowed[np.minimum(cand.item, len(allowed) - 1)] | (cand.item >= len(allowed))
            prob = np.where(ok, prob, -np.inf)
        finite = np.isfinite(prob)
        totals = np.bincount(cand.row[finite], weights=prob[finite], minlength=n_rows)
        if keep is not None:
            prob = np.where(keep, prob, -np.inf)
        order = np.lexsort((cand.item, -prob, cand.row))
        order = order[np.isfinite(prob[order])]  # an excluded candidate is never listed
        row = cand.row[order]
        rank = np.arange(len(order)) - np.searchsorted(row, np.arange(n_rows))[row]
        keep = order[rank < k]
        r, c = cand.row[keep], rank[rank < k]
        out = BuyAgainLists(keys, np.full((n_rows, k), -1, np.int64), np.full((n_rows, k), -np.inf, np.float32),
                            np.zeros((n_rows, k), bool), np.full((n_rows, k), np.nan, np.float32),
                            np.full((n_rows, k), np.nan, np.float32), np.asarray(cold, bool), totals)
        out.idx[r, c], out.scores[r, c], out.repeat[r, c] = cand.item[keep], prob[keep], cand.repeat[keep]
        out.due_days[r, c], out.quantity[r, c] = cand.due_days[keep], cand.quantity[keep]
        return out

    def recommend_batch(
        self, data: Interactions, user_ids: Sequence[str], now: int, k: int = 10, workers: int = 1
    ) -> Iterator[BuyAgainLists]:
        """Top-k buy-again lists for `user_ids` from their events in `data` as of `now`, chunk by chunk
        (in order; `workers` threads score chunks at once, one BLAS thread each)."""
        self._check_fitted()
        user_ids = list(user_ids)
        events = data.for_users(user_ids, self.items_)
        events = events.select(np.argsort(events.user_idx, kind="stable"))
        step = max(16, min(2048, CHUNK_CELLS // max(len(self.items_), 1)))
        bounds = np.searchsorted(events.user_idx, np.arange(0, len(user_ids) + step, step))

        def chunk(n: int) -> BuyAgainLists:
            lo, keys = n * step, user_ids[n * step : (n + 1) * step]
            part = events.select(np.arange(bounds[n], bounds[n + 1]))
            part = dataclasses.replace(part, user_idx=part.user_idx - lo, users=IdMap(keys, "user"))
            cand, cold = self._candidates(part, keys, now)
            return self._top(cand, self._probability(cand.X), len(keys), k, keys, cold)

        chunks = range(-(-len(user_ids) // step))
        if workers <= 1:
            yield from map(chunk, chunks)
            return
        with threadpool_limits(1), ThreadPoolExecutor(workers) as pool:
            yield from pool.map(chunk, chunks)

    def recommend(
        self, user_id: str, events: pl.DataFrame, now: int | None = None, k: int = 10, exclude: Collection[str] = (),
        only: Collection[str] | None = None,
    ) -> list[Recommendation]:
        """One customer's buy-again list from their events (`item_id`, `ts`, optional `quantity`, `order_id`).

        Re-orders read `re-order: due in 2 days, usually 40 units` and carry a suggested quantity;
        discoveries keep the discovery model's reason. Items in `exclude` are left out; with `only`,
        nothing else is listed (e.g. the customer's own items, for a buy-again filter). `now`
        defaults to the current time.
        """
        self._check_fitted()
        now = int(time.time() if now is None else now)
        data = Interactions.from_frame(events, users=IdMap([user_id], "user"), items=self.items_)
        sub = data.for_users([user_id], self.items_)
        cand, cold = self._candidates(sub, [user_id], now)
        banned = np.asarray(self.items_.to_idx(list(exclude), strict=False), dtype=np.int64)
        keep = ~np.isin(cand.item, banned[banned >= 0])
        if only is not None:
            kept = np.asarray(self.items_.to_idx(list(only), strict=False), dtype=np.int64)
            keep &= np.isin(cand.item, kept[kept >= 0])
        top = self._top(cand, self._probability(cand.X), 1, k, [user_id], cold, keep)
        records = self.explain(top)[0]
        listed = top.idx[0] >= 0
        new = np.flatnonzero(~top.repeat[0][listed])
        if len(new) and not cold[0]:  # discoveries get the discovery model's own reasons (its parts)
            row = sp.csr_matrix(sub.to_csr()[0])
            row.sort_indices()
            hist = OneHistory(row.indices.astype(np.int64), row.data.astype(np.float32))
            found = self.discovery_._records(int(self.discovery_.users_.get(user_id)), hist,
                                             top.idx[0][listed][new], top.scores[0][listed][new], False)
            for j, rec in zip(new, found):
                records[j] = dataclasses.replace(records[j], reason=rec.reason)
        return records

    def explain(self, lists: BuyAgainLists) -> list[list[Recommendation]]:
        """Per row, the listed items as records: re-orders with their due date and quantity, discoveries
        named after the discovery model (or its fallback); `relative` is each item's share of the row's
        candidate probabilities (none for a customer on the fallback, as Personalize gives none)."""
        s10 = np.round(np.interp(lists.scores, self.calibration_, np.linspace(0.0, 10.0, len(self.calibration_))), 3)
        ids = self.items_.ids
        out = []
        for r in range(len(lists.keys)):
            found = self.discovery_.name if not lists.cold[r] else FALLBACK_REASON
            total = 0.0 if lists.cold[r] else float(lists.totals[r])
            out.append([
                Recommendation(str(ids[i]), float(p), float(t), reorder_reason(float(due), float(q)),
                               relative=_share(p, total), quantity=float(q) if np.isfinite(q) else None)
                if again else Recommendation(str(ids[i]), float(p), float(t), found, relative=_share(p, total))
                for i, p, t, again, due, q in zip(lists.idx[r], lists.scores[r], s10[r], lists.repeat[r],
                                                  lists.due_days[r], lists.quantity[r]) if i >= 0
            ])
        return out

    def score10(self, probs: np.ndarray) -> list[float]:
        """Probabilities on the 0-10 scale: their percentile among typical top-10 probabilities."""
        return np.round(np.interp(probs, self.calibration_, np.linspace(0.0, 10.0, len(self.calibration_))), 3).tolist()

    # ---- artifacts -------------------------------------------------------------------------------
    _ARRAYS = ("coef_", "mean_", "scale_", "buyers_", "item_repeat_", "item_interval_", "calibration_")

    def save(self, path: str | Path) -> Path:
        """Write the model directory (params.json, arrays.npz, ids.npz); the discovery model is saved apart."""
        self._check_fitted()
        path = Path(path)
        arrays = {name: getattr(self, name) for name in self._ARRAYS}
        meta = {"intercept": float(self.intercept_), "horizon_days": float(self.horizon_days_),
                "trained_until": int(self.trained_until_), "features": list(FEATURES),
                "fit_seconds": getattr(self, "fit_seconds_", None)}
        return self._write(path, arrays, IdMap([], "user"), self.items_, meta)

    @classmethod
    def load(cls, path: str | Path, discovery: Recommender | None = None) -> Self:
        """Rebuild a fitted model; `discovery` (the version's main model) is attached when given."""
        model, arrays, _, model.items_, meta = cls._read(path)
        for name in cls._ARRAYS:
            setattr(model, name, arrays[name])
        model.intercept_, model.horizon_days_ = np.float32(meta["intercept"]), float(meta["horizon_days"])
        model.trained_until_, model.fit_seconds_ = int(meta["trained_until"]), meta.get("fit_seconds")
        return model.attach(discovery) if discovery is not None else model
