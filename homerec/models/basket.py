# SPDX-License-Identifier: Apache-2.0
"""BasketModel: complements for a cart, from the orders and the customers it was learned on.

Four signals, each scaled to [0, 1] per cart and blended with weights tuned on validation
baskets (`homerec.evaluation.basket.fit_basket`):

- `together`: items bought in the same orders as the cart's items, co-order counts divided by
  n_c^(1 - alpha) * n_j^alpha (alpha 0: confidence of c -> j, 0.5: cosine, 1: towards lift),
  summed over the cart;
- `customers`: items bought by the same customers as the cart's items (cosine over customers);
- `habits`: the customer's own purchases of the item, each weighted 0.5 ** (age / half-life):
  what this customer usually orders and has not put in the cart yet;
- `popularity`: distinct buyers (log).

The cart's items are never listed.
"""

import dataclasses
import time
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import ClassVar, Self

import numpy as np
import polars as pl
import scipy.sparse as sp

from homerec.data.ids import IdMap
from homerec.data.interactions import Interactions
from homerec.data.schema import Col
from homerec.errors import NotFitted
from homerec.models import artifact
from homerec.models.cooccurrence import co_counts, column_sums, customer_matrix, normalised, order_matrix
from homerec.models.item_knn import sparse_top_k
from homerec.models.part import Part
from homerec.models.topk import mask_rows, top_k
from homerec.types import Recommendation

SIGNALS = ("together", "customers", "habits", "popularity")
DAY = 86_400.0


def _max_scaled(m: np.ndarray) -> np.ndarray:
    """Each row divided by its largest value (rows of zeros stay zero); values are >= 0."""
    top = m.max(axis=1, keepdims=True) if m.shape[1] else np.zeros((m.shape[0], 1))
    return m / np.where(top > 0, top, 1.0)


def habit_weights(events: pl.DataFrame, items: IdMap, now: int, half_life_days: float) -> sp.csr_matrix:
    """One row of a customer's decayed purchases per item (events: `item_id`, optional `ts`)."""
    idx = np.asarray(items.to_idx(events[Col.item_id].cast(pl.String).to_list(), strict=False))
    if Col.ts in events.columns:
        age = np.maximum(now - events[Col.ts].cast(pl.Int64).to_numpy(), 0) / DAY
        w = np.exp2(-age / half_life_days)
    else:
        w = np.ones(len(idx))
    keep = idx >= 0
    return sp.csr_matrix((w[keep], (np.zeros(keep.sum(), int), idx[keep])), shape=(1, len(items)), dtype=np.float32)


@dataclasses.dataclass
class BasketModel(Part):
    """Basket completion over learned item-item matrices; hyper-parameters are the fields."""

    name: ClassVar[str] = "basket"
    neighbors: int = 200
    """Neighbours kept per item in each item-item matrix."""
    alpha: float = 0.5
    half_life_days: float = 90.0
    weights: dict[str, float] = dataclasses.field(
        default_factory=lambda: {"together": 1.0, "customers": 0.5, "habits": 1.0, "popularity": 0.1})

    def fit(self, data: Interactions) -> Self:
        """Learn co-order and co-customer neighbours and popularity from `data`."""
        started = time.perf_counter()
        orders, owners = order_matrix(data), customer_matrix(data)
        co_orders = co_counts(orders)
        self.together_ = sparse_top_k(normalised(co_orders, column_sums(orders), self.alpha), self.neighbors)
        self.co_orders_ = sparse_top_k(co_orders, self.neighbors)
        buyers = column_sums(owners)
        self.customers_ = sparse_top_k(normalised(co_counts(owners), buyers, 0.5), self.neighbors)
        self.popularity_ = np.log1p(buyers).astype(np.float32)
        self.items_ = data.items
        self.trained_until_ = int(data.max_ts() + 1)
        self.fit_seconds_ = time.perf_counter() - started
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "together_"):
            raise NotFitted("basket model is not fitted; call fit() or load() first")

    def sparse_signals(self, carts: sp.csr_matrix, habits: sp.csr_matrix) -> dict[str, sp.csr_matrix]:
        """The cart-dependent signals before scaling, as sparse rows with sorted indices."""
        self._check_fitted()
        carts = sp.csr_matrix(carts, dtype=np.float32)
        out = {"together": sp.csr_matrix(carts @ self.together_), "customers": sp.csr_matrix(carts @ self.customers_),
               "habits": sp.csr_matrix(habits, dtype=np.float32)}
        for m in out.values():
            m.sort_indices()
        return out

    def signals(self, carts: sp.csr_matrix, habits: sp.csr_matrix) -> dict[str, np.ndarray]:
        """Each signal (rows of carts × items) scaled to [0, 1] per row."""
        out = {name: _max_scaled(m.toarray()) for name, m in self.sparse_signals(carts, habits).items()}
        out["popularity"] = _max_scaled(np.broadcast_to(self.popularity_, carts.shape).copy())
        return out

    def blend(self, parts: dict[str, np.ndarray]) -> np.ndarray:
        """The weighted sum of the signals (float32)."""
        total = np.zeros(next(iter(parts.values())).shape, dtype=np.float32)
        for name, s in parts.items():
            total += np.float32(self.weights.get(name, 0.0)) * s.astype(np.float32)
        return total

    def complete_batch(self, carts: sp.csr_matrix, habits: sp.csr_matrix, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Top-k complements (item indices, -1 pads, and scores) per cart row, never a cart item."""
        total = self.blend(self.signals(carts, habits))
        mask_rows(total, sp.csr_matrix(carts))
        return top_k(total, k)

    def complete(
        self, cart_item_ids: Sequence[str], k: int = 10, history: pl.DataFrame | Sequence[str] | None = None,
        now: int | None = None, exclude: Collection[str] = (),
    ) -> list[Recommendation]:
        """Complements of a cart, never its items nor `exclude`; `history` is the customer's events
        (a frame with `item_id` and `ts`, or item ids) when the customer is known."""
        self._check_fitted()
        now = int(time.time() if now is None else now)
        cart = np.asarray(self.items_.to_idx(list(cart_item_ids), strict=False))
        cart = np.unique(cart[cart >= 0])
        row = sp.csr_matrix((np.ones(len(cart), np.float32), (np.zeros(len(cart), int), cart)), shape=(1, len(self.items_)))
        if history is None:
            habits = sp.csr_matrix((1, len(self.items_)), dtype=np.float32)
        else:
            frame = history if isinstance(history, pl.DataFrame) else pl.DataFrame({Col.item_id: list(history)})
            habits = habit_weights(frame, self.items_, now, self.half_life_days)
        banned = np.asarray(self.items_.to_idx(list(exclude), strict=False))
        blocked = np.union1d(cart, banned[banned >= 0])
        parts = self.signals(row, habits)
        total = self.blend(parts)[0]
        total[blocked] = -np.inf
        idx, vals = top_k(total, k)
        keep = idx >= 0
        return [Recommendation(item, float(v), round(10.0 * float(v) / max(sum(self.weights.values()), 1e-9), 3),
                               self._reason(int(i), cart, parts))
                for item, i, v in zip(self.items_.to_ids(idx[keep]), idx[keep], vals[keep])]

    def _reason(self, item: int, cart: np.ndarray, parts: dict[str, np.ndarray]) -> str:
        """Which signal contributed most, in words."""
        share = {name: self.weights.get(name, 0.0) * float(parts[name][0, item]) for name in SIGNALS}
        top = max(share, key=lambda n: share[n])
        if top == "together" and len(cart):
            counts = self.co_orders_[cart][:, item].toarray().ravel()
            best = int(np.argmax(counts))
            return f"basket: bought together with {self.items_.to_ids([cart[best]])[0]} in {int(counts[best])} orders"
        if top == "customers" and len(cart):
            sims = self.customers_[cart][:, item].toarray().ravel()
            return f"basket: customers who buy {self.items_.to_ids([cart[int(np.argmax(sims))]])[0]} buy it too"
        if top == "habits":
            return "basket: in your usual orders"
        return "basket: popular"

    # ---- artifacts -------------------------------------------------------------------------------
    _MATRICES = ("together_", "co_orders_", "customers_")

    def save(self, path: str | Path) -> Path:
        """Write the model directory (params.json, arrays.npz, ids.npz); no pickle."""
        self._check_fitted()
        arrays: dict[str, np.ndarray] = {"popularity": self.popularity_}
        for name in self._MATRICES:
            arrays.update(artifact.pack_csr(name, getattr(self, name)))
        meta = {"trained_until": self.trained_until_, "fit_seconds": getattr(self, "fit_seconds_", None)}
        return self._write(path, arrays, IdMap([], "user"), self.items_, meta)

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Rebuild a fitted model from its directory."""
        model, arrays, _, model.items_, meta = cls._read(path)
        model.popularity_ = arrays["popularity"]
        for name in cls._MATRICES:
            setattr(model, name, artifact.unpack_csr(name, arrays))
        model.trained_until_, model.fit_seconds_ = int(meta["trained_until"]), meta.get("fit_seconds")
        return model
