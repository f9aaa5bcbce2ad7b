# SPDX-License-Identifier: Apache-2.0
"""A recursive-descent parser from filter text to `Filter` (see the package docstring for the grammar)."""

from functools import lru_cache

from homerec.filters.lexer import Token, tokens, unquote
from homerec.filters.syntax import (
    COMPARISONS,
    CURRENT_USER,
    DATASETS,
    INTERACTION_COLUMNS,
    INTERACTIONS,
    ITEMS,
    MAX_EXPRESSION_CHARS,
    USERS,
    Cond,
    Expr,
    Filter,
    FilterError,
    Value,
)


@lru_cache(maxsize=256)
def parse(text: str) -> Filter:
    """Parse a filter expression; raises FilterError (an InputError) with the position of the problem."""
    if not isinstance(text, str) or not text.strip():
        raise FilterError("filter expression is empty")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise FilterError(f"filter expression is longer than {MAX_EXPRESSION_CHARS} characters")
    return _Parser(text).filter()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.toks, self.i = text, tokens(text), 0

    @property
    def tok(self) -> Token:
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
        if "." in column or dataset not in DATASETS:
            raise FilterError(f"filter expression: unknown dataset in {t.text!r} at position {t.pos} "
                              "(Items, Interactions, Users, CurrentUser)")
        if where and dataset == CURRENT_USER:
            raise FilterError("filter expression: CurrentUser conditions go after IF")
        if not where and dataset != CURRENT_USER:
            raise FilterError(f"filter expression: IF takes CurrentUser conditions, not {t.text!r}")
        if dataset == INTERACTIONS and column not in INTERACTION_COLUMNS:
            raise FilterError(f"filter expression: Interactions.{column} is not supported "
                              f"({', '.join(INTERACTION_COLUMNS)})")
        self.i += 1
        op = "NOT IN" if self.is_kw("NOT") else "IN" if self.is_kw("IN") else None
        if op is not None:
            self.i += 1
            if op == "NOT IN":
                self.kw("IN")
            values = self.values()
            if dataset != ITEMS and any(v.user_field for v in values):
                raise FilterError(f"filter expression: CurrentUser values are for Items conditions, not {t.text!r}")
            return Cond(dataset, column, op, values)
        if self.is_op(*COMPARISONS):
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
            return Value(unquote(t.text), quoted=True)
        if t.kind == "num":
            self.i += 1
            return Value(t.text)
        if t.kind == "param":
            self.i += 1
            return Value(param=t.text[1:])
        dataset, _, column = t.text.upper().partition(".")
        if t.kind == "word" and dataset in (CURRENT_USER, USERS) and column and "." not in column:
            self.i += 1  # the requesting user's own values (an entitled assortment): read per request
            return Value(user_field=column)
        raise self.fail('a value ("text", a number, $PARAM or CurrentUser.FIELD)')

    def scalar(self) -> Value:
        if self.tok.kind in ("num", "param", "str"):  # `Items.PRICE = "5"`: compared as a number when it is one
            return self.value()
        raise self.fail("a number or $PARAM")
