# SPDX-License-Identifier: Apache-2.0
"""Item attribute expressions of Personalize's Item-Attribute-Affinity segments, matched against the catalog.

Grammar (case-insensitive keywords and column names; values compared exactly)::

    expression := condition { AND condition }
    condition  := ITEMS.<COLUMN> ( "=" value | [NOT] IN "(" value { "," value } ")" )
    value      := "double-quoted text" | number

`ITEMS.genres = "Comedy" AND ITEMS.audience = "teen"` (Personalize's form) and
`Items.CATEGORY IN ("Gloves")` both parse. A multi-valued field (`Cleaning|Gloves`) matches
when any of its values is in the set.
"""

import re
from dataclasses import dataclass

import numpy as np
import polars as pl

from homerec.data.schema import MULTI_VALUE_SEP, Col
from homerec.errors import InputError

_TOKEN = re.compile(r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<num>-?\d+(?:\.\d+)?)|(?P<word>[A-Za-z_][\w.]*)|(?P<op>[=(),]))')


@dataclass(frozen=True)
class Condition:
    """One `ITEMS.column [NOT] IN (values)` test."""

    column: str
    values: frozenset[str]
    negated: bool = False


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text.rstrip()):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise InputError(f"cannot read the attribute expression at {text[pos:pos + 20]!r}")
        kind = m.lastgroup or ""
        value = m.group(kind)
        out.append((kind, value[1:-1].replace('\\"', '"').replace("\\\\", "\\") if kind == "str" else value))
        pos = m.end()
    return out


def parse_attributes(text: str) -> list[Condition]:
    """The conditions of an expression (all must hold).

    Raises:
        InputError: the text does not follow the grammar in the module docstring.
    """
    tokens, conditions, i = _tokens(text), [], 0

    def expect(kind: str, value: str | None = None) -> str:
        nonlocal i
        if i >= len(tokens) or tokens[i][0] != kind or (value is not None and tokens[i][1].upper() != value):
            found = tokens[i][1] if i < len(tokens) else "the end"
            raise InputError(f"attribute expression {text!r}: expected {value or kind}, found {found!r}")
        i += 1
        return tokens[i - 1][1]

    while True:
        field = expect("word")
        dataset, _, column = field.partition(".")
        if dataset.upper() != "ITEMS" or not column:
            raise InputError(f"attribute expression {text!r}: conditions are on ITEMS.<column>, not {field!r}")
        negated = i < len(tokens) and tokens[i][1].upper() == "NOT"
        i += negated
        if not negated and i < len(tokens) and tokens[i] == ("op", "="):
            i += 1
            values = [_value(tokens, i, text)]
            i += 1
        else:
            expect("word", "IN")
            expect("op", "(")
            values = [_value(tokens, i, text)]
            i += 1
            while i < len(tokens) and tokens[i] == ("op", ","):
                values.append(_value(tokens, i + 1, text))
                i += 2
            expect("op", ")")
        conditions.append(Condition(column, frozenset(values), negated))
        if i == len(tokens):
            return conditions
        expect("word", "AND")


def _value(tokens: list[tuple[str, str]], i: int, text: str) -> str:
    if i >= len(tokens) or tokens[i][0] not in ("str", "num"):
        raise InputError(f"attribute expression {text!r}: expected a quoted value or a number")
    return tokens[i][1]


def matching_items(text: str, catalog: pl.DataFrame) -> list[str]:
    """Ids of the catalog's items (`item_id` + metadata columns) that satisfy the expression.

    Raises:
        InputError: a bad expression, or a column the catalog does not have.
    """
    by_upper = {c.upper(): c for c in catalog.columns if c != Col.item_id}
    keep = np.ones(catalog.height, dtype=bool)
    for cond in parse_attributes(text):
        name = by_upper.get(cond.column.upper())
        if name is None:
            known = ", ".join(by_upper.values()) or "none"
            raise InputError(f"the items have no column {cond.column!r} (known: {known})")
        parts = catalog[name].cast(pl.String).fill_null("").str.split(MULTI_VALUE_SEP)
        hit = parts.list.eval(pl.element().is_in(list(cond.values))).list.any().to_numpy()
        keep &= ~hit if cond.negated else hit
    return catalog[Col.item_id].cast(pl.String).filter(pl.Series(keep)).to_list()
