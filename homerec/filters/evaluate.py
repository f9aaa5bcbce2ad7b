# SPDX-License-Identifier: Apache-2.0
"""Evaluation: which items a bound filter keeps for one user, as polars expressions over plain frames."""

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from homerec.data.schema import Col
from homerec.filters.bind import BoundCond, BoundExpr, BoundFilter, bind
from homerec.filters.parse import parse
from homerec.filters.syntax import CURRENT_USER, INTERACTION_COLUMNS, INTERACTIONS, ITEMS, USERS, FilterError, number

ALL = None
"""A selection of every item (a true Users condition)."""


@dataclass(frozen=True)
class Selection:
    """The result of a filter: items kept (`allowed`, None = all) minus `banned`."""

    allowed: frozenset[str] | None
    banned: frozenset[str]

    def keeps(self, item_id: str) -> bool:
        """Whether the filter keeps one item."""
        return item_id not in self.banned and (self.allowed is None or item_id in self.allowed)

    def excluded(self, universe: Iterable[str]) -> set[str]:
        """The ids of `universe` the filter removes."""
        if self.allowed is None:
            return set(self.banned)
        return {i for i in universe if i not in self.allowed} | set(self.banned)


@dataclass
class FilterData:
    """Lazily read inputs of one evaluation: item metadata, the user's events, the user's row.

    `items()`: one row per item, `item_id` and metadata string columns; `history()`: the user's
    events (`item_id`, `event_type`, `event_value`, `ts`); `user()`: the user's metadata or None.
    """

    items: Callable[[], pl.DataFrame]
    history: Callable[[], pl.DataFrame]
    user: Callable[[], Mapping[str, str | None] | None]
    _memo: dict[str, Any] = field(default_factory=dict)

    def get(self, what: str) -> Any:
        """`items`, `history` or `user`, read on first use."""
        if what not in self._memo:
            self._memo[what] = getattr(self, what)()
        return self._memo[what]


def evaluate(bound: BoundFilter, data: FilterData) -> Selection:
    """(∪ INCLUDE selections, or all) − (∪ EXCLUDE selections), after the `IF` user conditions."""
    includes: list[frozenset[str] | None] = []
    excludes: set[str] = set()
    for e in bound.exprs:
        if e.when:
            row = data.get("user")
            if not all(_row_matches(row, c) for c in e.when):
                continue
        chosen = _expr_items(e, data)
        if e.include:
            includes.append(chosen)
        elif chosen is ALL:
            return Selection(frozenset(), frozenset())  # everything excluded
        else:
            excludes |= chosen
    allowed: frozenset[str] | None = None
    if includes and all(s is not ALL for s in includes):
        allowed = frozenset().union(*includes)  # type: ignore[arg-type]
    return Selection(allowed, frozenset(excludes))


def select(text: str, values: Mapping[str, Any] | None, data: FilterData) -> Selection:
    """parse + bind + evaluate in one call."""
    return evaluate(bind(parse(text), values), data)


def _norm(name: str) -> str:
    return name.upper().replace("_", "")


def _resolve_column(columns: Sequence[str], wanted: str, what: str, strict: bool) -> str | None:
    by_upper = {c.upper(): c for c in columns}
    if wanted in by_upper:
        return by_upper[wanted]
    by_norm = {_norm(c): c for c in columns}
    if _norm(wanted) in by_norm:
        return by_norm[_norm(wanted)]
    if strict:
        raise FilterError(f"filter: {what} has no field {wanted}")
    return None


def has_column(columns: Sequence[str], wanted: str) -> bool:
    """Whether a condition on field `wanted` finds a column among `columns` (as evaluation resolves names)."""
    return _resolve_column(columns, wanted.upper(), "", strict=False) is not None


def column_of(columns: Sequence[str], wanted: str) -> str | None:
    """The column of `columns` that field `wanted` names (case and `_` ignored), or None."""
    return _resolve_column(columns, wanted.upper(), "", strict=False)


def fields_of(bound: BoundFilter) -> set[tuple[str, str]]:
    """(dataset, field) of every condition: `("ITEMS", "BRAND")`; CurrentUser values as `("USERS", X)`."""
    out = set()
    for e in bound.exprs:
        for c in (*[c for g in e.where for c in g], *e.when):
            out.add((USERS if c.dataset == CURRENT_USER else c.dataset, c.column))
            out.update((USERS, f) for f in c.user_fields)
    return out


def _string_expr(col: pl.Expr, c: BoundCond, multi: bool, lower: bool = False) -> pl.Expr:
    """Polars expression of an IN / NOT IN / = / compare condition over a String column."""
    if c.op in ("IN", "NOT IN", "=") and (c.op != "=" or number(c.values[0]) is None):
        vals = [v.lower() for v in c.values] if lower else list(c.values)
        if lower and "*" in vals:
            hit = col.is_not_null()
        else:
            target = col.str.to_lowercase() if lower else col
            if multi:
                hit = target.str.split("|").list.eval(pl.element().is_in(vals)).list.any()
            else:
                hit = target.is_in(vals)
            hit = hit.fill_null(False)
        return ~hit if c.op == "NOT IN" else hit
    x = number(c.values[0])
    num = col.cast(pl.Float64, strict=False)
    cmp = {"=": num == x, "<": num < x, "<=": num <= x, ">": num > x, ">=": num >= x}[c.op]
    return cmp.fill_null(False)


def _row_matches(row: Mapping[str, Any] | None, c: BoundCond) -> bool:
    """A user condition against the user's row (missing user/field: IN false, NOT IN true)."""
    value = None
    if row is not None:
        key = _resolve_column([k for k in row if k != Col.user_id], c.column, "Users", strict=False)
        value = None if key is None else row[key]
    frame = pl.DataFrame({"v": [None if value is None else str(value)]}, schema={"v": pl.String})
    return bool(frame.select(_string_expr(pl.col("v"), c, multi=True)).item())


def _with_user_values(e: BoundExpr, row: Mapping[str, Any] | None) -> BoundExpr:
    """The expression with `CurrentUser.X` values replaced by the user's (none for a missing user or field)."""

    def fill(c: BoundCond) -> BoundCond:
        if not c.user_fields:
            return c
        values = list(c.values)
        for wanted in c.user_fields:
            key = _resolve_column([k for k in row if k != Col.user_id], wanted, "Users", strict=False) if row else None
            raw = row.get(key) if row is not None and key is not None else None
            if raw is not None:
                values.extend(v for v in str(raw).split("|") if v)
        return BoundCond(c.dataset, c.column, c.op, tuple(values))
    return BoundExpr(e.include, tuple(tuple(fill(c) for c in g) for g in e.where), e.when)


def _expr_items(e: BoundExpr, data: FilterData) -> frozenset[str] | None:
    """The items one expression selects (None: every item)."""
    dataset = e.where[0][0].dataset
    if dataset == USERS:
        row = data.get("user")
        hit = any(all(_row_matches(row, c) for c in g) for g in e.where)
        return ALL if hit else frozenset()
    if dataset == ITEMS:
        frame: pl.DataFrame = data.get("items")
        columns = [c for c in frame.columns if c != Col.item_id]

        def col(c: BoundCond) -> pl.Expr:
            name = _resolve_column(columns, c.column, "Items", strict=frame.height > 0)
            return pl.col(name) if name is not None else pl.lit(None, dtype=pl.String)
        multi = True
    else:
        frame = data.get("history")

        def col(c: BoundCond) -> pl.Expr:
            return pl.col(INTERACTION_COLUMNS[c.column]).cast(pl.String)
        multi = False
    if frame.height == 0:
        return frozenset()
    if dataset == ITEMS and any(c.user_fields for g in e.where for c in g):
        e = _with_user_values(e, data.get("user"))
    ors = []
    for g in e.where:
        ands = [_string_expr(col(c), c, multi, lower=(dataset == INTERACTIONS and c.column == "EVENT_TYPE"))
                for c in g]
        ors.append(pl.all_horizontal(ands))
    return frozenset(frame.filter(pl.any_horizontal(ors))[Col.item_id].cast(pl.String).to_list())
