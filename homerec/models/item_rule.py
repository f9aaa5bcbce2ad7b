# SPDX-License-Identifier: Apache-2.0
"""Non-products: the configured rule that marks catalogue items never to be recommended.

Postage, fees, deposits, samples and discounts are order lines but not products. They stay in
the training data (they are part of what a customer did) but a model trained with a rule
holds a per-item ``recommendable_`` mask that the base `Recommender` applies to every score,
fallback list and similar-items list, and keeps the rule itself in its artifact, so items
added to the catalogue after training (`homerec.models.new_items`) are judged by it too.

An item is a non-product when any of these holds:

- its id matches ``id_pattern`` (a Python regular expression, searched: anchor it with
  ``^…$`` to match whole ids);
- one of its categories (the catalogue's category column, values split on ``|``) equals one
  of ``categories`` (case-insensitive);
- ``nonpositive_price`` is on and its price column holds a number <= 0;
- its id is listed in ``item_ids``.
"""

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import polars as pl

from homerec.data.schema import CATEGORY_COLUMNS, MULTI_VALUE_SEP, PRICE_COLUMNS, Col
from homerec.errors import ConfigError


def find_column(frame: pl.DataFrame | None, names: Sequence[str]) -> str | None:
    """The first column of `frame` whose upper-cased name is in `names` (in their order), or None."""
    if frame is None:
        return None
    upper = {c.upper(): c for c in frame.columns}
    return next((upper[n] for n in names if n in upper), None)


@dataclass(frozen=True)
class NonProductRule:
    """Which catalogue items are not products (see the module doc); the empty rule marks none."""

    id_pattern: str = ""
    categories: tuple[str, ...] = ()
    nonpositive_price: bool = False
    item_ids: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.id_pattern:
            try:
                re.compile(self.id_pattern)
            except re.error as err:
                raise ConfigError(f"non-product id pattern {self.id_pattern!r} is not a regular expression: {err}") from None

    @property
    def empty(self) -> bool:
        """True when the rule marks nothing."""
        return not (self.id_pattern or self.categories or self.nonpositive_price or self.item_ids)

    def non_products(self, catalog: pl.DataFrame | None, item_ids: Sequence[str]) -> np.ndarray:
        """Per id of `item_ids`, True when the rule marks it; metadata comes from `catalog` (may be None)."""
        ids = [str(i) for i in item_ids]
        out = np.zeros(len(ids), dtype=bool)
        if self.empty:
            return out
        if self.id_pattern:
            pattern = re.compile(self.id_pattern)
            out |= np.fromiter((pattern.search(i) is not None for i in ids), dtype=bool, count=len(ids))
        if self.item_ids:
            listed = set(self.item_ids)
            out |= np.fromiter((i in listed for i in ids), dtype=bool, count=len(ids))
        if catalog is not None and (self.categories or self.nonpositive_price):
            out |= self._by_metadata(catalog, ids)
        return out

    def _by_metadata(self, catalog: pl.DataFrame, ids: list[str]) -> np.ndarray:
        id_col = find_column(catalog, (Col.item_id.upper(),))
        if id_col is None:
            return np.zeros(len(ids), dtype=bool)
        marks = pl.Series([False] * catalog.height)
        cat_col = find_column(catalog, CATEGORY_COLUMNS)
        if self.categories and cat_col is not None:
            wanted = [c.strip().lower() for c in self.categories]
            values = catalog[cat_col].cast(pl.String).fill_null("").str.to_lowercase().str.split(MULTI_VALUE_SEP)
            marks |= values.list.eval(pl.element().str.strip_chars().is_in(wanted)).list.any()
        price_col = find_column(catalog, PRICE_COLUMNS)
        if self.nonpositive_price and price_col is not None:
            price = catalog[price_col].cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
            marks |= (price <= 0).fill_null(False)
        marked = set(catalog[id_col].cast(pl.String).filter(marks).to_list())
        return np.fromiter((i in marked for i in ids), dtype=bool, count=len(ids))

    def to_json(self) -> str:
        """The rule as a JSON string (stored in model artifacts)."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "NonProductRule":
        """Inverse of to_json."""
        doc = json.loads(text) if text else {}
        return cls(doc.get("id_pattern", ""), tuple(doc.get("categories", ())), bool(doc.get("nonpositive_price", False)),
                   tuple(doc.get("item_ids", ())))
