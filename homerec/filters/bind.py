# SPDX-License-Identifier: Apache-2.0
"""Binding: a parsed filter with its `$placeholders` filled from a request's filterValues."""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from homerec.filters.parse import parse
from homerec.filters.syntax import MAX_VALUE_CHARS, Cond, Filter, FilterError, number

_LIST_ITEM = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|([^,"\s][^,"]*?))\s*(,|$)')


@dataclass(frozen=True)
class BoundCond:
    """A condition whose values are all literals."""

    dataset: str
    column: str
    op: str
    values: tuple[str, ...]
    user_fields: tuple[str, ...] = ()
    """Fields of the requesting user whose values (`a|b`: each) join `values` when it is evaluated."""


@dataclass(frozen=True)
class BoundExpr:
    """An INCLUDE/EXCLUDE part with bound conditions."""

    include: bool
    where: tuple[tuple[BoundCond, ...], ...]
    when: tuple[BoundCond, ...]


@dataclass(frozen=True)
class BoundFilter:
    """A filter with its placeholders filled: what is evaluated per request."""

    text: str
    exprs: tuple[BoundExpr, ...]


def parse_values(text: str, name: str = "value") -> list[str]:
    """A filterValues string: comma-joined double-quoted literals (`"a","b"`) or bare numbers."""
    if not isinstance(text, str):
        raise FilterError(f"filter value {name} must be a string")
    if len(text) > MAX_VALUE_CHARS:
        raise FilterError(f"filter value {name} is longer than {MAX_VALUE_CHARS} characters")
    out, pos = [], 0
    while True:
        m = _LIST_ITEM.match(text, pos)
        if m is None or (m.end() == pos and pos < len(text)):
            raise FilterError(f'filter value {name}: expected comma-separated "quoted" values, got {text!r}')
        if m.group(1) is not None:
            out.append(re.sub(r"\\(.)", r"\1", m.group(1)))
        elif number(m.group(2).strip()) is not None:
            out.append(m.group(2).strip())
        else:
            raise FilterError(f'filter value {name}: expected comma-separated "quoted" values or numbers, '
                              f"got {text!r}")
        pos = m.end()
        if m.group(3) == "" or pos >= len(text):
            if m.group(3) == ",":
                raise FilterError(f"filter value {name}: trailing comma in {text!r}")
            return out


def bind(filt: Filter | str, values: Mapping[str, Any] | None = None) -> BoundFilter:
    """Fill placeholders from filterValues (strings in the Personalize format, or lists of values).

    A missing value: error for an INCLUDE expression, the expression is dropped for an EXCLUDE one.
    """
    if isinstance(filt, str):
        filt = parse(filt)
    parsed: dict[str, list[str]] = {}
    for key, raw in dict(values or {}).items():
        if isinstance(raw, (list, tuple)):
            parsed[key] = [str(v) for v in raw]
        elif isinstance(raw, (int, float)) and not isinstance(raw, bool):
            parsed[key] = [str(raw)]
        else:
            parsed[key] = parse_values(raw, key)
    exprs = []
    for expr in filt.exprs:
        missing = sorted({v.param for c in expr.conds() for v in c.values if v.param and v.param not in parsed})
        if missing:
            if expr.include:
                raise FilterError(f"filter values missing for {', '.join('$' + m for m in missing)}")
            continue  # an EXCLUDE expression without its values is switched off (Personalize semantics)
        exprs.append(BoundExpr(expr.include, tuple(tuple(_fill(c, parsed) for c in g) for g in expr.where),
                               tuple(_fill(c, parsed) for c in expr.when)))
    return BoundFilter(filt.text, tuple(exprs))


def _fill(c: Cond, parsed: Mapping[str, list[str]]) -> BoundCond:
    out: list[str] = []
    for v in c.values:
        if v.user_field is None:
            out.extend(parsed[v.param] if v.param is not None else [v.text or ""])
    fields = tuple(v.user_field for v in c.values if v.user_field is not None)
    if fields:
        return BoundCond(c.dataset, c.column, c.op, tuple(out), fields)
    if c.op not in ("IN", "NOT IN"):
        if len(out) != 1:
            raise FilterError(f"{c.dataset}.{c.column} {c.op} needs one value, got {len(out)}")
        if number(out[0]) is None and c.op != "=":
            raise FilterError(f"{c.dataset}.{c.column} {c.op} needs a number, got {out[0]!r}")
    return BoundCond(c.dataset, c.column, c.op, tuple(out))
