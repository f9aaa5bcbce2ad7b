# SPDX-License-Identifier: Apache-2.0
"""Personalize filter expressions: a recursive-descent parser and a server-side evaluator (no eval).

    EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase")
    INCLUDE ItemID WHERE Items.CATEGORY IN ($CATS) | EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")
    INCLUDE ItemID WHERE Items.AVAILABLE IN ("True") AND Items.PRICE <= $MAX_PRICE
    EXCLUDE ItemID WHERE Items.ADULT IN ("yes") IF CurrentUser.AGE < 18

Grammar and semantics: `shared/design/personalize-compat.md` §9. In short:

- `filter := expr { "|" expr }`; INCLUDE parts are unioned, EXCLUDE parts are unioned, and the result
  is (∪ includes, or every item when there is none) − (∪ excludes), whatever the order.
- `expr := INCLUDE|EXCLUDE ItemID WHERE cond {AND|OR cond} [IF ucond {AND ucond}]`; AND binds tighter
  than OR; all conditions of one expression use one dataset (chain datasets with `|`).
- Items conditions match the item's metadata; a multi-valued field (`a|b` in the store) matches
  `IN` when any value matches, `NOT IN` when none does. `= < <= > >=` compare numbers.
- Interactions conditions (EVENT_TYPE, EVENT_VALUE, TIMESTAMP) select the items the requesting user
  interacted with, read from the live store, so a just-bought item is excluded at once. Event
  types match case-insensitively and `"*"` matches any type.
- Users conditions (in WHERE) and `IF CurrentUser.X …` test the requesting user's metadata: a true
  Users condition selects every item, a false `IF` drops the expression.
- Field names are case-insensitive. `$NAME` placeholders come from filterValues (`NAME`, case-sensitive),
  whose values are comma-joined double-quoted literals (`"\\"shoes\\",\\"boots\\""`); bare numbers
  are accepted too. A missing value is an error in an INCLUDE expression and drops an EXCLUDE one.

Errors are `InputError` with a message that says where the expression went wrong.
"""

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import polars as pl

from homerec.data.schema import Col
from homerec.errors import InputError

MAX_EXPRESSION_CHARS = 2500
MAX_VALUE_CHARS = 1000

ITEMS, INTERACTIONS, USERS, CURRENT_USER = "ITEMS", "INTERACTIONS", "USERS", "CURRENTUSER"
_DATASETS = {ITEMS, INTERACTIONS, USERS, CURRENT_USER}
_INTERACTION_COLUMNS = {"EVENT_TYPE": Col.event_type, "EVENT_VALUE": Col.event_value, "TIMESTAMP": Col.ts,
                        "ITEM_ID": Col.item_id}
_CMP = ("<=", ">=", "=", "<", ">")
_KEYWORDS = {"INCLUDE", "EXCLUDE", "ITEMID", "WHERE", "IN", "NOT", "AND", "OR", "IF"}


class FilterError(InputError):
    """A filter expression or filter value that cannot be parsed or applied."""


# -- AST ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Value:
    """A literal (`text`) or a `$param` placeholder; `quoted` tells `"5"` from `5`."""

    text: str | None = None
    param: str | None = None
    quoted: bool = False


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
        return self.where[0][0].dataset

    def conds(self) -> Iterable[Cond]:
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
        return {v.param for e in self.exprs for c in e.conds() for v in c.values if v.param is not None}


# -- tokenizer ---------------------------------------------------------------------------------
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>"(?:[^"\\]|\\.)*")
      | (?P<num>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
      | (?P<param>\$[A-Za-z0-9_]+)
      | (?P<op><=|>=|=|<|>|\(|\)|,|\||\*)
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Tok:
    kind: str  # str num param op word end
    text: str
    pos: int


def _tokens(text: str) -> list[_Tok]:
    out, pos = [], 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            out.append(_Tok("end", "", pos))
            return out
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise FilterError(f"filter expression: unexpected character {text[pos]!r} at position {pos}")
        kind = m.lastgroup or ""
        out.append(_Tok(kind, m.group(kind), m.start(kind)))
        pos = m.end()


def _unquote(token: str) -> str:
    return re.sub(r"\\(.)", r"\1", token[1:-1])


# -- parser ------------------------------------------------------------------------------------
class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.toks, self.i = text, _tokens(text), 0

    @property
    def tok(self) -> _Tok:
        return self.toks[self.i]

    def fail(self, expected: str) -> FilterError:
        t = self.tok
        got = "the end" if t.kind == "end" else repr(t.text)
        return FilterError(f"filter expression: expected {expected} at position {t.pos}, got {got}")

    def is_kw(self, *words: str) -> bool:
        return self.tok.kind == "word" and self.tok.text.upper() in words

    def kw(self, word: str) -> None:
        if not self.is_kw(word):
            raise self.fail(word)
        self.i += 1

    def is_op(self, *ops: str) -> bool:
        return self.tok.kind == "op" and self.tok.text in ops

    def op(self, op: str) -> None:
        if not self.is_op(op):
            raise self.fail(repr(op))
        self.i += 1

    def filter(self) -> Filter:
        exprs = [self.expr()]
        while self.is_op("|"):
            self.i += 1
            exprs.append(self.expr())
        if self.tok.kind != "end":
            raise self.fail("'|', AND, OR, IF or the end")
        return Filter(self.text, tuple(exprs))

    def expr(self) -> Expr:
        if not self.is_kw("INCLUDE", "EXCLUDE"):
            raise self.fail("INCLUDE or EXCLUDE")
        include = self.tok.text.upper() == "INCLUDE"
        self.i += 1
        if self.is_kw("ACTIONID", "USERID"):
            raise FilterError(f"filter expression: only ItemID filters are supported, not {self.tok.text}")
        self.kw("ITEMID")
        self.kw("WHERE")
        groups, group = [], [self.cond(where=True)]
        while self.is_kw("AND", "OR"):
            joiner = self.tok.text.upper()
            self.i += 1
            if joiner == "OR":
                groups.append(tuple(group))
                group = []
            group.append(self.cond(where=True))
        groups.append(tuple(group))
        when: list[Cond] = []
        if self.is_kw("IF"):
            self.i += 1
            when.append(self.cond(where=False))
            while self.is_kw("AND"):
                self.i += 1
                when.append(self.cond(where=False))
        datasets = {c.dataset for g in groups for c in g}
        if len(datasets) > 1:
            raise FilterError(f"filter expression: one expression may use one dataset, this one uses "
                              f"{' and '.join(sorted(datasets))}; combine expressions with '|'")
        return Expr(include, tuple(groups), tuple(when))

    def cond(self, where: bool) -> Cond:
        t = self.tok
        if t.kind != "word" or "." not in t.text:
            raise self.fail("a field like Items.CATEGORY" if where else "a field like CurrentUser.AGE")
        dataset, _, column = t.text.partition(".")
        dataset, column = dataset.upper(), column.upper()
        if dataset == "CURRENTITEM":
            raise FilterError("filter expression: CurrentItem conditions (related-items recipes) are not supported")
        if "." in column or dataset not in _DATASETS:
            raise FilterError(f"filter expression: unknown dataset in {t.text!r} at position {t.pos} "
                              "(Items, Interactions, Users, CurrentUser)")
        if where and dataset == CURRENT_USER:
            raise FilterError("filter expression: CurrentUser conditions go after IF")
        if not where and dataset != CURRENT_USER:
            raise FilterError(f"filter expression: IF takes CurrentUser conditions, not {t.text!r}")
        if dataset == INTERACTIONS and column not in _INTERACTION_COLUMNS:
            raise FilterError(f"filter expression: Interactions.{column} is not supported "
                              f"({', '.join(_INTERACTION_COLUMNS)})")
        self.i += 1
        if self.is_kw("NOT"):
            self.i += 1
            self.kw("IN")
            return Cond(dataset, column, "NOT IN", self.values())
        if self.is_kw("IN"):
            self.i += 1
            return Cond(dataset, column, "IN", self.values())
        if self.is_op(*_CMP):
            op = self.tok.text
            self.i += 1
            return Cond(dataset, column, op, (self.scalar(),))
        raise self.fail("IN, NOT IN or a comparison (= < <= > >=)")

    def values(self) -> tuple[Value, ...]:
        if self.tok.kind == "word" and self.tok.text.upper().startswith("CURRENTITEM."):
            raise FilterError("filter expression: CurrentItem conditions (related-items recipes) are not supported")
        self.op("(")
        if self.is_op("*"):
            self.i += 1
            self.op(")")
            return (Value("*", quoted=True),)
        out = [self.value()]
        while self.is_op(","):
            self.i += 1
            out.append(self.value())
        self.op(")")
        return tuple(out)

    def value(self) -> Value:
        t = self.tok
        if t.kind == "str":
            self.i += 1
            return Value(_unquote(t.text), quoted=True)
        if t.kind == "num":
            self.i += 1
            return Value(t.text)
        if t.kind == "param":
            self.i += 1
            return Value(param=t.text[1:])
        raise self.fail('a value ("text", a number or $PARAM)')

    def scalar(self) -> Value:
        t = self.tok
        if t.kind == "num" or t.kind == "param":
            return self.value()
        if t.kind == "str":  # `Items.PRICE = "5"`: accepted, compared as a number when it is one
            return self.value()
        raise self.fail("a number or $PARAM")


@lru_cache(maxsize=256)
def parse(text: str) -> Filter:
    """Parse a filter expression; raises FilterError (an InputError) with the position of the problem."""
    if not isinstance(text, str) or not text.strip():
        raise FilterError("filter expression is empty")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise FilterError(f"filter expression is longer than {MAX_EXPRESSION_CHARS} characters")
    return _Parser(text).filter()


# -- placeholder values ------------------------------------------------------------------------
_LIST_ITEM = re.compile(r'\s*(?:"((?:[^"\\]|\\.)*)"|([^,"\s][^,"]*?))\s*(,|$)')


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
        elif _number(m.group(2).strip()) is not None:
            out.append(m.group(2).strip())
        else:
            raise FilterError(f'filter value {name}: expected comma-separated "quoted" values or numbers, '
                              f"got {text!r}")
        pos = m.end()
        if m.group(3) == "" or pos >= len(text):
            if m.group(3) == ",":
                raise FilterError(f"filter value {name}: trailing comma in {text!r}")
            return out


@dataclass(frozen=True)
class BoundCond:
    dataset: str
    column: str
    op: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class BoundExpr:
    include: bool
    where: tuple[tuple[BoundCond, ...], ...]
    when: tuple[BoundCond, ...]


@dataclass(frozen=True)
class BoundFilter:
    """A filter with its placeholders filled: what the service evaluates per request."""

    text: str
    exprs: tuple[BoundExpr, ...]


def bind(filt: Filter | str, values: Mapping[str, Any] | None = None) -> BoundFilter:
    """Fill placeholders from filterValues (strings in the Personalize format, or lists of values).

    A missing value: error for an INCLUDE expression, the expression is dropped for an EXCLUDE one.
    """
    if isinstance(filt, str):
        filt = parse(filt)
    values = dict(values or {})
    parsed: dict[str, list[str]] = {}
    for key, raw in values.items():
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

        def fill(c: Cond) -> BoundCond:
            out: list[str] = []
            for v in c.values:
                out.extend(parsed[v.param] if v.param is not None else [v.text or ""])
            if c.op not in ("IN", "NOT IN"):
                if len(out) != 1:
                    raise FilterError(f"{c.dataset}.{c.column} {c.op} needs one value, got {len(out)}")
                if _number(out[0]) is None and c.op != "=":
                    raise FilterError(f"{c.dataset}.{c.column} {c.op} needs a number, got {out[0]!r}")
            return BoundCond(c.dataset, c.column, c.op, tuple(out))

        exprs.append(BoundExpr(expr.include, tuple(tuple(fill(c) for c in g) for g in expr.where),
                               tuple(fill(c) for c in expr.when)))
    return BoundFilter(filt.text, tuple(exprs))


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None


# -- evaluation --------------------------------------------------------------------------------
ALL = None
"""A selection of every item (a true Users condition)."""


@dataclass(frozen=True)
class Selection:
    """The result of a filter: items kept (`allowed`, None = all) minus `banned`."""

    allowed: frozenset[str] | None
    banned: frozenset[str]

    def keeps(self, item_id: str) -> bool:
        return item_id not in self.banned and (self.allowed is None or item_id in self.allowed)

    def excluded(self, universe: Iterable[str]) -> set[str]:
        """The ids of `universe` the filter removes."""
        if self.allowed is None:
            return set(self.banned)
        return {i for i in universe if i not in self.allowed} | set(self.banned)


@dataclass
class FilterData:
    """Lazily read inputs of one evaluation: item metadata, the user's events, the user's row."""

    items: Callable[[], pl.DataFrame]
    history: Callable[[], pl.DataFrame]
    user: Callable[[], Mapping[str, str | None] | None]
    _memo: dict[str, Any] = field(default_factory=dict)

    def get(self, what: str) -> Any:
        if what not in self._memo:
            self._memo[what] = getattr(self, what)()
        return self._memo[what]


def store_data(store: Any, catalog: Any, user_id: str | None) -> FilterData:
    """FilterData for one user: item and user metadata from the `Catalog` snapshot, events from the store."""

    def hist() -> pl.DataFrame:
        if user_id is not None:
            return store.history(user_id)
        return pl.DataFrame(schema={Col.item_id: pl.String, Col.event_type: pl.String,
                                    Col.event_value: pl.Float64, Col.ts: pl.Int64})

    return FilterData(items=catalog.items, history=hist,
                      user=lambda: catalog.user(user_id) if user_id is not None else None)


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


def _string_expr(col: pl.Expr, c: BoundCond, multi: bool, lower: bool = False) -> pl.Expr:
    """Polars expression of an IN / NOT IN / = / compare condition over a String column."""
    if c.op in ("IN", "NOT IN", "=") and (c.op != "=" or _number(c.values[0]) is None):
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
    x = _number(c.values[0])
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
        id_col = Col.item_id
    else:
        frame = data.get("history")

        def col(c: BoundCond) -> pl.Expr:
            return pl.col(_INTERACTION_COLUMNS[c.column]).cast(pl.String)
        multi = False
        id_col = Col.item_id
    if frame.height == 0:
        return frozenset()
    ors = []
    for g in e.where:
        ands = [_string_expr(col(c), c, multi, lower=(dataset == INTERACTIONS and c.column == "EVENT_TYPE"))
                for c in g]
        ors.append(pl.all_horizontal(ands))
    mask = pl.any_horizontal(ors)
    return frozenset(frame.filter(mask)[id_col].cast(pl.String).to_list())


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
