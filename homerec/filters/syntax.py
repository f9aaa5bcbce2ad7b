# SPDX-License-Identifier: Apache-2.0
"""The syntax tree of a filter expression, and the names it may use."""

from collections.abc import Iterable
from dataclasses import dataclass

from homerec.data.schema import Col
from homerec.errors import InputError

MAX_EXPRESSION_CHARS = 2500
MAX_VALUE_CHARS = 1000

ITEMS, INTERACTIONS, USERS, CURRENT_USER = "ITEMS", "INTERACTIONS", "USERS", "CURRENTUSER"
DATASETS = {ITEMS, INTERACTIONS, USERS, CURRENT_USER}
INTERACTION_COLUMNS = {"EVENT_TYPE": Col.event_type, "EVENT_VALUE": Col.event_value, "TIMESTAMP": Col.ts,
                       "ITEM_ID": Col.item_id}
"""Interactions fields a condition may test, and the event-frame column each reads."""
COMPARISONS = ("<=", ">=", "=", "<", ">")


class FilterError(InputError):
    """A filter expression or filter value that cannot be parsed or applied."""


@dataclass(frozen=True)
class Value:
    """A literal (`text`), a `$param` placeholder or the requesting user's field (`user_field`,
    from `CurrentUser.ASSORTMENT`); `quoted` tells `"5"` from `5`."""

    text: str | None = None
    param: str | None = None
    quoted: bool = False
    user_field: str | None = None


@dataclass(frozen=True)
class Cond:
    """`DATASET.COLUMN op values` (one value for comparisons)."""

    dataset: str
    column: str
    op: str  # "IN", "NOT IN", "=", "<", "<=", ">", ">="
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Expr:
    """One INCLUDE/EXCLUDE part: OR of AND-groups, then optional `IF` user conditions."""

    include: bool
    where: tuple[tuple[Cond, ...], ...]
    when: tuple[Cond, ...] = ()

    @property
    def dataset(self) -> str:
        """The one dataset its WHERE conditions use."""
        return self.where[0][0].dataset

    def conds(self) -> Iterable[Cond]:
        """Every condition, WHERE then IF."""
        for group in self.where:
            yield from group
        yield from self.when


@dataclass(frozen=True)
class Filter:
    """A parsed filter: its parts in order."""

    text: str
    exprs: tuple[Expr, ...]

    @property
    def placeholders(self) -> set[str]:
        """The `$NAME`s it needs values for."""
        return {v.param for e in self.exprs for c in e.conds() for v in c.values if v.param is not None}


def number(text: str | None) -> float | None:
    """`text` as a number, or None when it is not one."""
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None
