# SPDX-License-Identifier: Apache-2.0
"""The synthetic product catalog: categories, brands, prices, texts, launches and popularity drift."""

from dataclasses import dataclass

import numpy as np
import polars as pl

from homerec.data.schema import ITEM_ID, MULTI_VALUE_SEP
from homerec.synth.timeline import DAY, END_TS, MONTH_STARTS, N_MONTHS, START_TS
from homerec.synth.vocab import (
    BRAND_PREFIXES,
    BRAND_SUFFIXES,
    CATEGORIES,
    DEPARTMENTS,
    MULTI_CATEGORY_PAIRS,
    SERIES,
    TIER_WORDS,
)

N_CATEGORIES = len(CATEGORIES)
CATEGORY_DEPT = np.array([DEPARTMENTS.index(c.department) for c in CATEGORIES], dtype=np.int16)
PACK_PRICE_FACTOR = np.array([1.0, 1.8, 3.2, 5.5])
LAUNCH_SHARE = 0.10
RAMP_MONTHS = 3.0


@dataclass(frozen=True)
class Catalog:
    """Items in ID order (P00001 is the oldest) with their hidden factors."""

    item_ids: np.ndarray
    category: np.ndarray
    category_label: list[str]
    brand: np.ndarray
    brand_names: list[str]
    price: np.ndarray
    description: list[str]
    creation_ts: np.ndarray
    vec: np.ndarray
    logpop: np.ndarray

    @property
    def n_items(self) -> int:
        """Number of items."""
        return len(self.item_ids)

    def frame(self) -> pl.DataFrame:
        """The items.csv table."""
        return pl.DataFrame(
            {
                ITEM_ID: self.item_ids,
                "CATEGORY": self.category_label,
                "BRAND": [self.brand_names[b] for b in self.brand],
                "PRICE": self.price,
                "DESCRIPTION": self.description,
                "CREATION_TIMESTAMP": self.creation_ts,
            }
        )


def _brands(rng: np.random.Generator, n_brands: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Brand names, Zipf-ish sizes and a (category x brand) weight matrix concentrating brands."""
    combos = np.array([p + s for p in BRAND_PREFIXES for s in BRAND_SUFFIXES])
    names = [str(n) for n in rng.choice(combos, n_brands, replace=False)]
    size = 1.0 / np.arange(1, n_brands + 1) ** 1.05
    home_dept = rng.integers(0, len(DEPARTMENTS), n_brands)
    n_home = 1 + rng.binomial(3, 0.35, n_brands) + (size > size[min(9, n_brands - 1)]) * 2
    weight = np.full((N_CATEGORIES, n_brands), 0.002)
    for b in range(n_brands):  # a few hundred brands: small loop
        in_dept = np.flatnonzero(CATEGORY_DEPT == home_dept[b])
        k = n_home[b]
        pool = np.where(rng.random(k) < 0.8, rng.choice(in_dept, k), rng.integers(0, N_CATEGORIES, k))
        weight[pool, b] = 1.0
    return names, size, weight * size


def _logpop(rng: np.random.Generator, base: np.ndarray, category: np.ndarray, creation: np.ndarray) -> np.ndarray:
    """Log popularity per (month, item): trend, seasonality, launch ramp and -inf before launch."""
    n = len(base)
    slope = rng.normal(0.0, 0.45, n)
    kind = rng.random(n)
    slope += np.where(kind < 0.12, 1.3, np.where(kind > 0.88, -1.3, 0.0))
    x = (np.arange(N_MONTHS) - (N_MONTHS - 1) / 2) / ((N_MONTHS - 1) / 2)
    peak = np.array([c.peak_month for c in CATEGORIES])[category]
    amp = np.array([c.season_amp for c in CATEGORIES])[category]
    month_of_year = np.arange(N_MONTHS) % 12 + 1
    season = amp[None, :] * np.cos(2 * np.pi * (month_of_year[:, None] - peak[None, :]) / 12)
    first = np.searchsorted(MONTH_STARTS, creation, side="left")  # first month starting at/after launch
    age = np.arange(N_MONTHS)[:, None] - first[None, :]
    with np.errstate(divide="ignore"):
        ramp = np.where(creation[None, :] <= START_TS, 0.0, np.log(np.clip((age + 1) / RAMP_MONTHS, 0.0, 1.0)))
    lp = base[None, :] + slope[None, :] * x[:, None] + season + ramp
    return np.where(age >= 0, lp, -np.inf).astype(np.float32)


def _descriptions(rng: np.random.Generator, category, brand, brand_names, tier, pack) -> list[str]:
    """Short English product texts built from category, brand, tier and pack words."""
    n = len(category)
    series = rng.integers(0, len(SERIES), (len(brand_names), 2))
    r = rng.integers(0, 1 << 30, (n, 5))
    out = []
    for i in range(n):  # a few thousand items: plain loop
        c, b = CATEGORIES[category[i]], brand[i]
        tw = TIER_WORDS[tier[i]]
        out.append(
            f"{brand_names[b]} {SERIES[series[b, r[i, 0] % 2]]}: {tw[r[i, 1] % len(tw)]}"
            f"{c.attrs[r[i, 2] % len(c.attrs)]} {c.nouns[r[i, 3] % len(c.nouns)]}, "
            f"{c.packs[pack[i] % len(c.packs)]}, {c.variants[r[i, 4] % len(c.variants)]}"
        )
    return out


def make_catalog(rng: np.random.Generator, n_items: int, dim: int = 16) -> Catalog:
    """Draw a catalog of `n_items` products with hidden latent vectors and popularity curves."""
    n_brands = int(np.clip(round(300 * n_items / 4182), 12, len(BRAND_PREFIXES) * len(BRAND_SUFFIXES)))
    cat_w = rng.lognormal(0.0, 0.45, N_CATEGORIES)
    category = np.concatenate(
        [rng.permutation(N_CATEGORIES)[: min(n_items, N_CATEGORIES)],
         rng.choice(N_CATEGORIES, max(0, n_items - N_CATEGORIES), p=cat_w / cat_w.sum())]
    )
    brand_names, brand_size, cb_weight = _brands(rng, n_brands)
    brand = np.zeros(n_items, dtype=np.int64)
    for c in range(N_CATEGORIES):
        rows = np.flatnonzero(category == c)
        brand[rows] = rng.choice(n_brands, len(rows), p=cb_weight[c] / cb_weight[c].sum())
    z = rng.normal(0.0, 1.0, n_items)
    tier = np.where(z < -0.5, 0, np.where(z > 0.7, 2, 1))
    pack = rng.choice(4, n_items, p=[0.4, 0.3, 0.2, 0.1])
    brand_level = rng.normal(0.0, 0.15, n_brands)
    median = np.array([c.median_price for c in CATEGORIES])[category]
    price = np.maximum(np.round(median * np.exp(0.35 * z + brand_level[brand]) * PACK_PRICE_FACTOR[pack], 2), 0.49)

    launched = rng.random(n_items) < LAUNCH_SHARE
    creation = np.where(
        launched,
        rng.integers(START_TS + 30 * DAY, END_TS - 45 * DAY, n_items),
        START_TS - rng.integers(DAY, 4 * 365 * DAY, n_items),
    ).astype(np.int64)

    def emb(k: int) -> np.ndarray:
        return rng.normal(0.0, 1.0 / np.sqrt(dim), (k, dim))

    vec = (
        0.7 * emb(len(DEPARTMENTS))[CATEGORY_DEPT[category]] + 0.9 * emb(N_CATEGORIES)[category]
        + 0.8 * emb(n_brands)[brand] + 0.6 * emb(3)[tier] + 0.5 * emb(n_items)
    ).astype(np.float32)
    base = rng.normal(0.0, 1.1, n_items) + 0.1 * np.log(brand_size[brand] / brand_size[0]) + 0.4 * launched
    logpop = _logpop(rng, base, category, creation)

    multi = {CATEGORIES.index(next(c for c in CATEGORIES if c.name == a)): b for a, b in MULTI_CATEGORY_PAIRS}
    two = rng.random(n_items) < 0.3
    labels = [
        CATEGORIES[c].name + (MULTI_VALUE_SEP + multi[c] if t and c in multi else "")
        for c, t in zip(category.tolist(), two.tolist())
    ]
    descriptions = _descriptions(rng, category, brand, brand_names, tier, pack)

    order = np.argsort(creation, kind="stable")  # product codes are handed out in launch order
    width = max(5, len(str(n_items)))
    return Catalog(
        item_ids=np.array([f"P{i:0{width}d}" for i in range(1, n_items + 1)]),
        category=category[order].astype(np.int16),
        category_label=[labels[i] for i in order],
        brand=brand[order],
        brand_names=brand_names,
        price=price[order],
        description=[descriptions[i] for i in order],
        creation_ts=creation[order],
        vec=vec[order],
        logpop=logpop[:, order],
    )
