# SPDX-License-Identifier: Apache-2.0
"""The hidden truth of a synthetic dataset: customers' tastes and items' factors."""

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from homerec.errors import InputError, UnknownItem, UnknownUser
from homerec.synth.catalog import CATEGORY_DEPT, N_CATEGORIES, Catalog
from homerec.synth.timeline import N_MONTHS, month_of
from homerec.synth.vocab import REGIONS, SEGMENTS

POPULATION_FILE = "hidden_tastes.npz"
SEGMENT_NAMES = tuple(SEGMENTS)
REGION_NAMES = tuple(REGIONS)
DIRICHLET_CONCENTRATION = 8.0
AFFINITY_FLOOR = 1e-3
LATENT_STD = 1.0


def draw_users(rng: np.random.Generator, n_users: int) -> tuple[np.ndarray, np.ndarray]:
    """Segment and region index of each customer."""
    seg_p = np.array([s[0] for s in SEGMENTS.values()])
    reg_p = np.array(list(REGIONS.values()))
    segment = rng.choice(len(seg_p), n_users, p=seg_p / seg_p.sum())
    return segment, rng.choice(len(reg_p), n_users, p=reg_p / reg_p.sum())


def draw_tastes(
    rng: np.random.Generator, catalog: Catalog, segment: np.ndarray, region: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Latent vectors (n_users, dim) and log category affinities (n_users, n_categories) of customers.

    Category affinities are Dirichlet draws around the segment's department profile; latent
    vectors mix a segment, a region and an individual component and share the items' space.
    """
    dim = catalog.vec.shape[1]
    dept_w = np.array([s[4] for s in SEGMENTS.values()])
    dept_size = np.bincount(CATEGORY_DEPT, minlength=dept_w.shape[1])
    profile = dept_w[:, CATEGORY_DEPT] / dept_size[CATEGORY_DEPT]
    profile *= rng.lognormal(0.0, 0.5, (len(SEGMENTS), N_CATEGORIES))
    profile /= profile.sum(axis=1, keepdims=True)
    aff = rng.standard_gamma((DIRICHLET_CONCENTRATION * profile[segment]).astype(np.float32), dtype=np.float32)
    aff /= np.maximum(aff.sum(axis=1, keepdims=True), 1e-30)
    user_cat = np.log(np.maximum(aff, AFFINITY_FLOOR, out=aff), out=aff)

    def emb(k: int) -> np.ndarray:
        return rng.normal(0.0, 1.0 / np.sqrt(dim), (k, dim)).astype(np.float32)

    user_vec = 1.0 * emb(len(SEGMENTS))[segment] + 0.4 * emb(len(REGIONS))[region] + 0.8 * emb(len(segment))
    probe = user_vec[: min(2000, len(user_vec))] @ catalog.vec[: min(2000, catalog.n_items)].T
    user_vec *= np.float32(LATENT_STD / max(float(probe.std()), 1e-6))
    return user_vec, user_cat


@dataclass(frozen=True, eq=False)
class Population:
    """Customers' hidden tastes and items' hidden factors: the generator's ground truth.

    A customer's preference for an item at month m is
    ``exp(user_cat[u, cat(i)] + user_vec[u] @ item_vec[i] + item_logpop[m, i])``.
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    user_vec: np.ndarray
    user_cat: np.ndarray
    item_vec: np.ndarray
    item_cat: np.ndarray
    item_logpop: np.ndarray

    @property
    def n_users(self) -> int:
        """Number of customers (with or without orders)."""
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        """Number of items."""
        return len(self.item_ids)

    def save(self, path: str | Path) -> Path:
        """Write to `path` (a directory gets hidden_tastes.npz); returns the file written."""
        path = Path(path)
        if path.is_dir():
            path = path / POPULATION_FILE
        with open(path, "wb") as fh:  # a file object keeps np.savez from appending ".npz"
            np.savez_compressed(fh, **{k: getattr(self, k) for k in self.__dataclass_fields__})
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Population":
        """Read a file written by save() (or the hidden_tastes.npz of a directory)."""
        path = Path(path)
        if path.is_dir():
            path = path / POPULATION_FILE
        if not path.is_file():
            raise InputError(f"no hidden tastes file at {path}")
        with np.load(path, allow_pickle=False) as z:
            return cls(**{k: z[k] for k in cls.__dataclass_fields__})

    @cached_property
    def _user_order(self) -> np.ndarray:
        return np.argsort(self.user_ids, kind="stable")

    @cached_property
    def _item_order(self) -> np.ndarray:
        return np.argsort(self.item_ids, kind="stable")

    @cached_property
    def _item_vec_t(self) -> np.ndarray:
        return np.ascontiguousarray(self.item_vec.T)

    @cached_property
    def _item_cat_idx(self) -> np.ndarray:
        return self.item_cat.astype(np.intp)

    @staticmethod
    def _lookup(ids: np.ndarray, order: np.ndarray, wanted, error: type[Exception], kind: str) -> np.ndarray:
        wanted = np.asarray(wanted, dtype=str).ravel()
        pos = np.clip(np.searchsorted(ids, wanted, sorter=order), 0, len(ids) - 1)
        rows = order[pos]
        bad = ids[rows] != wanted
        if bad.any():
            raise error(f"unknown {kind} {wanted[np.argmax(bad)]!r} in the hidden tastes")
        return rows

    def user_rows(self, user_ids) -> np.ndarray:
        """Row of each user id; raises UnknownUser."""
        return self._lookup(self.user_ids, self._user_order, user_ids, UnknownUser, "user")

    def item_cols(self, item_ids) -> np.ndarray:
        """Column of each item id; raises UnknownItem."""
        return self._lookup(self.item_ids, self._item_order, item_ids, UnknownItem, "item")

    def logits(self, rows: np.ndarray, month: int = N_MONTHS - 1, pop: np.ndarray | None = None) -> np.ndarray:
        """Log preference (len(rows), n_items) of users for all items; -inf for items not yet launched.

        `pop` replaces the month's log popularity row (the sampler passes each item's maximum).
        """
        lp = self.item_logpop[month] if pop is None else pop
        out = self.user_vec[rows] @ self._item_vec_t
        out += np.take(self.user_cat[rows], self._item_cat_idx, axis=1)
        out += lp
        return out

    def purchase_probability(self, user_ids, item_ids, at: int | None = None) -> np.ndarray:
        """True preference of user_ids[k] for item_ids[k], in [0, 1] (1 for the user's favourite item).

        The value is exp(logit(user, item) - max over items of logit(user, .)) at one month, so
        it ranks items exactly as the generator's choice model does; items not yet launched get 0.

        Args:
            user_ids: User ids, paired with item_ids; a single id is broadcast against all items.
            item_ids: Item ids, paired with user_ids; a single id is broadcast against all users.
            at: Epoch seconds whose month's item popularity is used; default the window's last month.

        Returns:
            float64 array with one probability per pair.

        Raises:
            UnknownUser: A user id that is not in the population.
            UnknownItem: An item id that is not in the catalog.
        """
        rows, cols = np.broadcast_arrays(self.user_rows(user_ids), self.item_cols(item_ids))
        month = N_MONTHS - 1 if at is None else int(month_of(np.array([at]))[0])
        out = np.zeros(len(rows), dtype=np.float64)
        uniq, inv = np.unique(rows, return_inverse=True)
        by_user = np.argsort(inv, kind="stable")
        bounds = np.searchsorted(inv[by_user], np.arange(0, len(uniq) + 2048, 2048))
        for c, a in enumerate(range(0, len(uniq), 2048)):
            lg = self.logits(uniq[a : a + 2048], month)
            sel = by_user[bounds[c] : bounds[c + 1]]
            k = inv[sel] - a
            out[sel] = np.exp(lg[k, cols[sel]] - lg.max(axis=1)[k])
        return np.nan_to_num(out, nan=0.0)
