# SPDX-License-Identifier: Apache-2.0
"""The re-ranking step: rotation, bounded boosts and a per-category cap over the model's candidates.

Pure list work over `Recommendation`s: the caller (`homerec.serving.service`) has already left
out what the filters remove and ranked `rules.pool(k)` candidates; this module reads item
metadata through the request's `FilterData` (the catalogue snapshot) and the shown counts the
caller read from the exposure log.
"""

from collections.abc import Mapping
from dataclasses import replace

import polars as pl

from homerec.data.schema import Col
from homerec.filters import FilterData, column_of, evaluate
from homerec.rules.compile import CompiledRules
from homerec.types import Recommendation


def rerank(rules: CompiledRules, items: list[Recommendation], k: int, data: FilterData,
           unclicked_shown: Mapping[str, int]) -> list[Recommendation]:
    """The first `k` of `items` after rotation, boosts and the category cap, best first.

    `unclicked_shown`: item → how many served lists held it within the rotation window, for
    items the user has no event on since (only read when the rules rotate).
    """
    if rules.rotation is not None:
        items = _rotate(items, unclicked_shown, rules.rotation.shown)
    if rules.boosts and rules.max_positions > 0:
        items = _boost(rules, items, data)
    if rules.category_cap is not None:
        items = _cap(items, data, rules.category_column, rules.category_cap, k)
    return items[:k]


def _rotate(items: list[Recommendation], shown: Mapping[str, int], limit: int) -> list[Recommendation]:
    """Items shown `limit` times or more without an event sink below the others (in their order)."""
    stay = [r for r in items if shown.get(r.item_id, 0) < limit]
    if len(stay) == len(items):
        return items
    sunk = [replace(r, reason=f"{r.reason}; rotated: shown {shown[r.item_id]} times without a click")
            for r in items if shown.get(r.item_id, 0) >= limit]
    return stay + sunk


def _boost(rules: CompiledRules, items: list[Recommendation], data: FilterData) -> list[Recommendation]:
    """Each matching item moves up by its boosts (at most `max_positions`, never past more items)."""
    gain = [0] * len(items)
    labels: list[list[str]] = [[] for _ in items]
    for boost in rules.boosts:
        selection = evaluate(boost.item_filter, data)
        for i, r in enumerate(items):
            if selection.keeps(r.item_id):
                gain[i] += boost.positions
                labels[i].append(boost.label)
    if not any(gain):
        return items
    # An item at position p with gain g sorts as p - g; on a tie the boosted item goes first. It can
    # only pass the items in positions p-g … p-1, so it moves up at most g places.
    capped = [min(g, rules.max_positions) for g in gain]
    order = sorted(range(len(items)), key=lambda i: (i - capped[i], -capped[i], i))
    out = []
    for new, i in enumerate(order):
        r = items[i]
        if new < i:
            r = replace(r, reason=f"{r.reason}; boosted: {', '.join(labels[i])} (+{i - new})")
        out.append(r)
    return out


def _cap(items: list[Recommendation], data: FilterData, column: str, cap: int, k: int) -> list[Recommendation]:
    """At most `cap` items per value of `column` among the first `k` (a multi-valued `a|b` counts for each);
    an item over the cap gives its slot to the next best. Items without the value are not capped."""
    frame: pl.DataFrame = data.get("items")
    name = column_of([c for c in frame.columns if c != Col.item_id], column)
    if name is None:
        return items
    ids = [r.item_id for r in items]
    rows = frame.filter(pl.col(Col.item_id).is_in(ids)).select(Col.item_id, name)
    values = dict(zip(rows[Col.item_id].to_list(), rows[name].to_list()))
    counts: dict[str, int] = {}
    out = []
    for r in items:
        groups = [v for v in (values.get(r.item_id) or "").split("|") if v]
        if any(counts.get(v, 0) >= cap for v in groups):
            continue
        for v in groups:
            counts[v] = counts.get(v, 0) + 1
        out.append(r)
        if len(out) == k:
            break
    return out
