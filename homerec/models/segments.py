# SPDX-License-Identifier: Apache-2.0
"""SegmentModel: the customers likeliest to buy a product, or any product matching item attributes.

For a product and every customer with a history, features say how close the product is to
what the customer buys (co-customer and co-order neighbours of the customer's items, how many
of the customer's items share each of its attributes: category, department, brand, ...) and
how active the customer is (recent purchases, purchases, idle days). A logistic regression learned on a validation window (labels: who bought
each target product there for the first time) turns them into a probability; a segment for
several products (an attribute expression) takes the chance of buying any of them,
1 - prod(1 - p). Customers who already bought the product are left out unless asked for.
"""

import dataclasses
import time
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import ClassVar, Self

import numpy as np
import polars as pl
import scipy.sparse as sp

from homerec.data.attributes import matching_items
from homerec.data.ids import IdMap
from homerec.data.interactions import Interactions
from homerec.data.schema import MULTI_VALUE_SEP, Col
from homerec.errors import InputError, NotFitted
from homerec.models import artifact
from homerec.models.cooccurrence import co_counts, column_sums, customer_matrix, normalised, order_matrix
from homerec.models.item_knn import sparse_top_k
from homerec.models.part import Part

DAY = 86_400.0
BASE_FEATURES = ("log_customers", "log_together", "log_recent_7d", "log_recent_30d", "log_recent_365d",
                 "log_purchases", "log_idle_days")
"""Features of every segment model; one `log_items_same_<column>` per item attribute column follows."""
MAX_TARGETS = 300
"""Products an attribute segment is computed over (the most bought of those matching)."""
MAX_ATTRIBUTES = 5
LONG_TEXT = 40
"""Columns whose values average more characters than this are text, not attributes."""


def _one_hot(catalog: pl.DataFrame, name: str, items: IdMap) -> sp.csr_matrix:
    """Items × distinct values of one (possibly multi-valued) column."""
    frame = catalog.select(pl.col(Col.item_id).cast(pl.String), pl.col(name).cast(pl.String).str.split(MULTI_VALUE_SEP))
    frame = frame.explode(name).drop_nulls().filter(pl.col(name) != "")
    values = frame[name].unique(maintain_order=True)
    row = np.asarray(items.to_idx(frame[Col.item_id].to_list(), strict=False))
    col = frame[name].cast(pl.Enum(values)).to_physical().to_numpy()
    keep = row >= 0
    m = sp.csr_matrix((np.ones(keep.sum(), np.float32), (row[keep], col[keep])), shape=(len(items), len(values)))
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


def category_matrix(catalog: pl.DataFrame | None, items: IdMap) -> sp.csr_matrix:
    """Items × category values (binary) from the catalog's CATEGORY column (else the first *CATEGORY* one)."""
    columns = [c for c in (catalog.columns if catalog is not None else []) if "CATEGORY" in c.upper()]
    if not columns:
        return sp.csr_matrix((len(items), 0), dtype=np.float32)
    return _one_hot(catalog, next((c for c in columns if c.upper() == "CATEGORY"), columns[0]), items)


def attribute_columns(catalog: pl.DataFrame | None) -> list[str]:
    """The catalog's categorical columns: text that is neither a number nor long, with repeated values."""
    out = []
    for name in catalog.columns if catalog is not None else []:
        values = catalog[name].cast(pl.String).drop_nulls()
        if name == Col.item_id or values.len() == 0:
            continue
        numeric = values.cast(pl.Float64, strict=False).is_not_null().mean()
        distinct = values.str.split(MULTI_VALUE_SEP).explode().n_unique()
        if numeric < 0.5 and values.str.len_chars().mean() <= LONG_TEXT and 1 < distinct <= catalog.height / 2:
            out.append(name)
    return out[:MAX_ATTRIBUTES]


def attribute_matrices(catalog: pl.DataFrame | None, items: IdMap) -> dict[str, sp.csr_matrix]:
    """Items × values of each categorical column (see `attribute_columns`), by column name."""
    return {name: _one_hot(catalog, name, items) for name in attribute_columns(catalog)}


@dataclasses.dataclass
class SegmentModel(Part):
    """Likeliest buyers of products; hyper-parameters are the fields."""

    name: ClassVar[str] = "segments"
    neighbors: int = 200
    half_life_days: float = 90.0
    negatives: int = 2000
    """Non-buyers sampled per target product while learning."""
    random_state: int = 0

    # ---- state from events -------------------------------------------------------------------------
    def refresh(self, data: Interactions, attributes: dict[str, sp.csr_matrix] | None = None) -> Self:
        """Neighbours, customer profiles and activity from `data` (as of its last event); weights stay.

        `attributes` (column name → items × values, see `attribute_matrices`) replace the item
        attributes; without them the known ones are kept, re-indexed to data's item map.
        """
        now = int(data.max_ts() + 1)
        owners = customer_matrix(data)
        self.customers_ = sparse_top_k(normalised(co_counts(owners), column_sums(owners), 0.5), self.neighbors)
        orders = order_matrix(data)
        self.together_ = sparse_top_k(normalised(co_counts(orders), column_sums(orders), 0.5), self.neighbors)
        age = (now - data.ts) / DAY
        profile = sp.csr_matrix((data.weight * np.exp2(-age / self.half_life_days), (data.user_idx, data.item_idx)),
                                shape=(data.n_users, data.n_items), dtype=np.float32)
        profile.sum_duplicates()
        self.profile_ = profile
        self.activity_ = np.stack([
            np.bincount(data.user_idx, weights=w, minlength=data.n_users)
            for w in (np.exp2(-age / 7.0), np.exp2(-age / 30.0), np.exp2(-age / 365.0), data.weight)],
            axis=1).astype(np.float32)
        last = np.zeros(data.n_users, dtype=np.int64)
        np.maximum.at(last, data.user_idx, data.ts)
        self.idle_days_ = np.where(np.diff(profile.indptr) > 0, (now - last) / DAY, np.nan).astype(np.float32)
        if attributes is not None:
            self.attribute_names_ = list(attributes)
            self.attribute_sizes_ = np.array([m.shape[1] for m in attributes.values()], dtype=np.int64)
            self.attributes_ = sp.csr_matrix(sp.hstack(list(attributes.values())) if attributes
                                             else sp.csr_matrix((data.n_items, 0)), dtype=np.float32)
        elif self.items_ != data.items:  # the same attributes, re-indexed
            old = np.asarray(self.items_.to_idx(data.items.ids.tolist(), strict=False))
            pick = sp.csr_matrix((np.ones((old >= 0).sum(), np.float32), (np.flatnonzero(old >= 0), old[old >= 0])),
                                 shape=(data.n_items, len(self.items_)))
            self.attributes_ = sp.csr_matrix(pick @ self.attributes_)
        self.users_, self.items_, self.trained_until_ = data.users, data.items, now
        return self

    @property
    def feature_names(self) -> list[str]:
        """The features, in column order."""
        return [*BASE_FEATURES, *(f"log_items_same_{name.lower()}" for name in self.attribute_names_)]

    def features(self, targets: np.ndarray) -> np.ndarray:
        """(users, targets, features) for every customer and the target item indices."""
        bought = sp.csr_matrix(self.profile_ > 0, dtype=np.float32)
        out = np.zeros((self.profile_.shape[0], len(targets), len(self.feature_names)), dtype=np.float32)
        out[:, :, 0] = np.log1p((bought @ self.customers_[targets].T).toarray())
        out[:, :, 1] = np.log1p((bought @ self.together_[targets].T).toarray())
        out[:, :, 2:6] = np.log1p(self.activity_)[:, None, :]
        out[:, :, 6] = np.log1p(np.nan_to_num(self.idle_days_, nan=3650.0))[:, None]
        ends = np.cumsum(self.attribute_sizes_)
        for g, (lo, hi) in enumerate(zip(ends - self.attribute_sizes_, ends)):
            a = self.attributes_[:, lo:hi]  # items sharing a value with the target, among the customer's
            out[:, :, len(BASE_FEATURES) + g] = np.log1p(((bought @ a) @ a[targets].T).toarray())
        return out

    def eligible(self, targets: np.ndarray, include_buyers: bool = False) -> np.ndarray:
        """(users, targets) True for customers with a history (and, unless asked, who never bought the target)."""
        has = np.diff(self.profile_.indptr) > 0
        ok = np.repeat(has[:, None], len(targets), axis=1)
        if not include_buyers:
            ok &= self.profile_[:, targets].toarray() <= 0
        return ok

    # ---- learning ----------------------------------------------------------------------------------
    def fit(self, history: Interactions, targets: np.ndarray, truth: Sequence[np.ndarray],
            attributes: dict[str, sp.csr_matrix] | None = None) -> Self:
        """Learn the weights from `history` and, per target item, its new buyers after it (`truth`)."""
        started = time.perf_counter()
        self.refresh(history, attributes or {})
        rng = np.random.default_rng(self.random_state)
        rows, labels = [], []
        for a in range(0, len(targets), 20):
            part = np.asarray(targets[a : a + 20])
            feats, ok = self.features(part), self.eligible(part)
            for j, t in enumerate(part):
                pos = np.asarray(truth[a + j], dtype=np.int64)
                pos = pos[ok[pos, j]]
                pool = np.flatnonzero(ok[:, j])
                neg = rng.choice(pool, min(self.negatives, len(pool)), replace=False) if len(pool) else pool
                neg = neg[~np.isin(neg, pos)]
                rows.append(feats[np.concatenate([pos, neg]), j])
                labels.append(np.r_[np.ones(len(pos), bool), np.zeros(len(neg), bool)])
        width = len(self.feature_names)
        X, y = (np.concatenate(rows), np.concatenate(labels)) if rows else (np.zeros((0, width)), np.zeros(0))
        self.mean_ = X.mean(axis=0).astype(np.float32) if len(X) else np.zeros(width, np.float32)
        std = X.std(axis=0) if len(X) else np.ones(width)
        self.scale_ = np.where(std > 0, std, 1.0).astype(np.float32)
        if 0 < y.sum() < len(y):
            from sklearn.linear_model import LogisticRegression  # fitting only: serving never loads it

            lr = LogisticRegression(max_iter=1000).fit((X - self.mean_) / self.scale_, y)
            self.coef_, self.intercept_ = lr.coef_.ravel().astype(np.float32), np.float32(lr.intercept_[0])
        else:  # nothing to learn from: closeness to the customer's purchases
            self.coef_, self.intercept_ = np.eye(width, dtype=np.float32)[0], np.float32(0.0)
        self.fit_seconds_ = time.perf_counter() - started
        return self

    # ---- segments ----------------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "coef_"):
            raise NotFitted("segment model is not fitted; call fit() or load() first")

    def probabilities(self, targets: np.ndarray, include_buyers: bool = False) -> np.ndarray:
        """(users, targets) probabilities of buying each target; -inf where a customer is not eligible."""
        self._check_fitted()
        z = ((self.features(targets) - self.mean_) / self.scale_) @ self.coef_ + self.intercept_
        p = (1.0 / (1.0 + np.exp(-z))).astype(np.float32)
        return np.where(self.eligible(targets, include_buyers), p, -np.inf)

    def likeliest_users(
        self, query: str, k: int = 100, catalog: pl.DataFrame | None = None, include_buyers: bool = False
    ) -> list[tuple[str, float]]:
        """The k customers likeliest to buy an item (`query` is its id) or any item matching an
        attribute expression (`Items.CATEGORY IN ("Gloves")`, matched against `catalog`), with
        their probability, best first. Past buyers of the item(s) are left out unless `include_buyers`.

        Raises:
            UnknownItem: an item id the model does not know.
            InputError: a bad expression, no catalog for it, or no item matching it.
        """
        if not query.strip().upper().startswith("ITEMS."):
            return self.for_items([query], k, include_buyers)
        if catalog is None:
            raise InputError("an attribute segment needs the items catalogue")
        ids = [i for i in matching_items(query, catalog) if i in self.items_]
        if not ids:
            raise InputError(f"no known item matches {query!r}")
        return self.for_items(ids, k, include_buyers)

    def for_items(self, item_ids: Sequence[str], k: int = 100, include_buyers: bool = False) -> list[tuple[str, float]]:
        """The k customers likeliest to buy any of the items (the `MAX_TARGETS` most bought of them).

        Raises:
            UnknownItem: an item id the model does not know.
        """
        self._check_fitted()
        targets = np.asarray(self.items_.to_idx(list(item_ids)), dtype=np.int64)
        targets = targets[np.argsort(-column_sums(self.profile_ > 0)[targets], kind="stable")[:MAX_TARGETS]]
        none = np.ones(self.profile_.shape[0])  # P(buys none of the targets)
        eligible = np.zeros(self.profile_.shape[0], dtype=bool)
        for a in range(0, len(targets), 20):
            p = self.probabilities(targets[a : a + 20], include_buyers)
            none *= np.prod(1.0 - np.where(np.isfinite(p), p, 0.0), axis=1)
            eligible |= np.isfinite(p).any(axis=1)
        if not include_buyers and len(targets) > 1:  # a prospect has bought none of the items
            eligible &= ~(self.profile_[:, targets] > 0).toarray().any(axis=1)
        anyone = np.where(eligible, 1.0 - none, -np.inf)
        k = min(k, int(np.isfinite(anyone).sum()))
        best = np.argsort(-anyone, kind="stable")[:k]
        return list(zip(self.users_.to_ids(best), np.round(anyone[best].astype(float), 6).tolist()))

    def without_users(self, user_ids: Collection[str]) -> bool:
        """Forget customers (a privacy deletion): their id map entries and their profile rows.
        Returns True when one of them was known (the model changed in place)."""
        self._check_fitted()
        users, keep = self.users_.without(user_ids)
        if len(users) == len(self.users_):
            return False
        self.profile_ = sp.csr_matrix(self.profile_[keep])
        self.activity_, self.idle_days_ = self.activity_[keep], self.idle_days_[keep]
        self.users_ = users
        return True

    # ---- artifacts ---------------------------------------------------------------------------------
    _MATRICES = ("customers_", "together_", "profile_", "attributes_")
    _ARRAYS = ("activity_", "idle_days_", "mean_", "scale_", "coef_", "attribute_sizes_")

    def save(self, path: str | Path) -> Path:
        """Write the model directory (params.json, arrays.npz, ids.npz); no pickle."""
        self._check_fitted()
        arrays = {name: getattr(self, name) for name in self._ARRAYS}
        for name in self._MATRICES:
            arrays.update(artifact.pack_csr(name, getattr(self, name)))
        meta = {"intercept": float(self.intercept_), "trained_until": self.trained_until_,
                "attributes": self.attribute_names_, "features": self.feature_names,
                "fit_seconds": getattr(self, "fit_seconds_", None)}
        return self._write(path, arrays, self.users_, self.items_, meta)

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Rebuild a fitted model from its directory."""
        model, arrays, model.users_, model.items_, meta = cls._read(path)
        for name in cls._ARRAYS:
            setattr(model, name, arrays[name])
        for name in cls._MATRICES:
            setattr(model, name, artifact.unpack_csr(name, arrays))
        model.intercept_, model.trained_until_ = np.float32(meta["intercept"]), int(meta["trained_until"])
        model.attribute_names_ = list(meta["attributes"])
        model.fit_seconds_ = meta.get("fit_seconds")
        return model
