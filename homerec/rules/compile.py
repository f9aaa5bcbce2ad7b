# SPDX-License-Identifier: Apache-2.0
"""Rule sets and placements compiled once at start: filters parsed and bound, names checked.

A mistake in the configuration (an unknown rule set, a filter that does not parse, a boost or
cap on a column the catalogue does not have) is a `ConfigError` with a message that names the
rule set or placement, raised when the server starts, so no request ever meets it.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from homerec.errors import ConfigError
from homerec.filters import BoundFilter, FilterError, bind, fields_of, has_column, parse
from homerec.filters.syntax import ITEMS
from homerec.rules.config import MAX_CANDIDATES, PlacementConfig, Rotation, RuleConfig


@dataclass(frozen=True)
class CompiledBoost:
    """A boost with its condition as a bound INCLUDE filter."""

    label: str
    positions: int
    item_filter: BoundFilter


@dataclass(frozen=True)
class CompiledRules:
    """A rule set ready for requests (`homerec.rules.rerank`)."""

    name: str
    filters: tuple[BoundFilter, ...]
    boosts: tuple[CompiledBoost, ...]
    max_positions: int
    category_cap: int | None
    category_column: str
    rotation: Rotation | None
    candidates: int

    def pool(self, k: int) -> int:
        """How many candidates the model ranks for a list of `k`."""
        return max(k, min(MAX_CANDIDATES, k * self.candidates))

    def item_fields(self) -> set[str]:
        """Items fields the rules read (to check against the catalogue)."""
        fields = {f for b in (*self.filters, *(x.item_filter for x in self.boosts)) for d, f in fields_of(b) if d == ITEMS}
        if self.category_cap is not None:
            fields.add(self.category_column.upper())
        return fields


@dataclass(frozen=True)
class Placement:
    """A named placement ready for requests."""

    name: str
    version: str
    rules: CompiledRules | None
    item_filter: BoundFilter | None
    include_seen: bool
    k: int | None


def _bound(text: str, where: str) -> BoundFilter:
    try:
        bound = bind(parse(text))
    except FilterError as err:
        raise ConfigError(f"{where}: {err}") from None
    return bound


def compile_rules(name: str, config: RuleConfig) -> CompiledRules:
    """One rule set, its filters and boost conditions parsed; ConfigError naming the rule set otherwise."""
    where = f"rules.{name}"
    filters = tuple(_bound(text, f"{where}.filters") for text in config.filters)
    boosts = tuple(CompiledBoost(b.label or b.when, b.positions,
                                 _bound(f"INCLUDE ItemID WHERE {b.when}", f"{where}.boosts ({b.when!r})"))
                   for b in config.boosts)
    for b in boosts:
        if any(e.where[0][0].dataset != ITEMS for e in b.item_filter.exprs):
            raise ConfigError(f"{where}.boosts: {b.label!r} must test Items fields")
    return CompiledRules(name, filters, boosts, config.max_positions, config.category_cap,
                         config.category_column, config.rotation, config.candidates)


def placements_of(rules: Mapping[str, RuleConfig], placements: Mapping[str, PlacementConfig]) -> dict[str, Placement]:
    """Every configured placement, compiled; ConfigError for an unknown rule set or a bad filter."""
    compiled = {name: compile_rules(name, config) for name, config in rules.items()}
    out = {}
    for name, p in placements.items():
        if p.rules is not None and p.rules not in compiled:
            known = ", ".join(sorted(compiled)) or "none configured"
            raise ConfigError(f"placements.{name}: unknown rule set {p.rules!r} (rule sets: {known})")
        item_filter = _bound(p.filter, f"placements.{name}.filter") if p.filter else None
        out[name] = Placement(name, p.version, compiled[p.rules] if p.rules else None, item_filter,
                              p.include_seen, p.k)
    return out


def check_columns(placements: Mapping[str, Placement], item_columns: Sequence[str]) -> None:
    """ConfigError when a placement's rules or filter read an Items field the catalogue lacks.

    `item_columns` are the metadata columns of the items table; with no items at all (an empty
    store) there is nothing to check against yet.
    """
    if not item_columns:
        return
    for p in placements.values():
        fields = p.rules.item_fields() if p.rules is not None else set()
        if p.item_filter is not None:
            fields |= {f for d, f in fields_of(p.item_filter) if d == ITEMS}
        missing = sorted(f for f in fields if not has_column(item_columns, f))
        if missing:
            where = f"rules.{p.rules.name}" if p.rules is not None else f"placements.{p.name}"
            raise ConfigError(f"placement {p.name!r} ({where}) refers to item field(s) {', '.join(missing)} that no "
                              f"item has (item metadata columns: {', '.join(sorted(item_columns))})")
