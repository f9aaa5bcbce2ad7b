# SPDX-License-Identifier: Apache-2.0
"""The one id rule and the finite-number rule (homerec/data/rules.py)."""

import math
import re

import polars as pl
import pytest

from homerec.data import rules


@pytest.mark.parametrize("value", ["C1", " C1 ", "\tC1\n", "\u3000C1\xa0", "é" * 256, "a b"])
def test_clean_ids_are_trimmed(value):
    assert rules.clean_id(value) == value.strip(rules.WHITESPACE)
    assert rules.is_storable_id(rules.clean_id(value))


@pytest.mark.parametrize(("value", "why"), [
    ("", "empty"), ("   ", "empty"), ("P1\x00", "U+0000"), ("\x00", "U+0000"), ("a\x1fb", "U+001F"),
    ("a\x85b\x9f", "U+0085"), ("b\x9f", "U+009F"), ("x" * 257, "longer than 256"), ("\x7f", "U+007F"),
])
def test_ids_breaking_the_rule_are_refused(value, why):
    with pytest.raises(ValueError, match=re.escape(why)):
        rules.clean_id(value, "user id")
    assert not rules.is_storable_id(value.strip(rules.WHITESPACE))


def test_polars_trims_and_checks_as_python_does():
    values = [" C1 ", "\u2028C2\u3000", "P1\x00", "x" * 257, "", "ok", "\x1fz"]
    frame = pl.DataFrame({"id": values}).with_columns(rules.trimmed(pl.col("id")).alias("t"))
    assert frame["t"].to_list() == [v.strip(rules.WHITESPACE) for v in values]
    bad = frame.select(rules.bad_id(pl.col("t"))).to_series().to_list()
    assert bad == [not rules.is_storable_id(v.strip(rules.WHITESPACE)) for v in values]


def test_the_store_finds_padded_ids_but_no_broken_ones():
    assert rules.is_storable_id(" C1") and rules.is_storable_id("C1")
    assert not rules.is_storable_id(None) and not rules.is_storable_id("C1\x00")


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, 10**400, 1.7976931348623157e308, -1e301])
def test_numbers_must_be_finite_and_bounded(value):
    with pytest.raises(ValueError):
        rules.finite_value(value, "event_value")


def test_ordinary_numbers_pass():
    assert rules.finite_value(3) == 3.0 and rules.finite_value(-1e300) == -1e300
    column = pl.Series([1.0, None, math.inf, math.nan, 1.7976931348623157e308, -2.0])
    assert pl.select(rules.bad_value(pl.lit(column))).to_series().to_list() == [False, False, True, True, True, False]
