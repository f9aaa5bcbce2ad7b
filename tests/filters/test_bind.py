# SPDX-License-Identifier: Apache-2.0
"""Binding filterValues to a parsed filter."""

import pytest

from homerec.filters import FilterError, bind, parse, parse_values

NOT_BOUGHT = 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase")'
BY_CATEGORY = "INCLUDE ItemID WHERE Items.CATEGORY IN ($CATS)"


# -- parser ------------------------------------------------------------------------------------

def test_parse_values_and_bind():
    assert parse_values('"shoes","boots"') == ["shoes", "boots"]
    assert parse_values(' "a,b" , 20 ') == ["a,b", "20"]
    assert parse_values('"say \\"hi\\""') == ['say "hi"']
    for bad in ("", '"a",', '"a" "b"', '"unclosed'):
        with pytest.raises(FilterError):
            parse_values(bad)
    b = bind(parse(BY_CATEGORY), {"CATS": '"shoes","boots"'})
    assert b.exprs[0].where[0][0].values == ("shoes", "boots")
    with pytest.raises(FilterError, match=r"missing for \$CATS"):  # INCLUDE: every placeholder needed
        bind(parse(BY_CATEGORY), {"cats": '"x"'})  # names are case-sensitive
    assert bind(parse("EXCLUDE ItemID WHERE Items.CATEGORY IN ($C)"), {}).exprs == ()  # EXCLUDE: dropped
    with pytest.raises(FilterError, match="needs a number"):
        bind(parse("INCLUDE ItemID WHERE Items.PRICE < $P"), {"P": '"cheap"'})
    with pytest.raises(FilterError, match="needs one value"):
        bind(parse("INCLUDE ItemID WHERE Items.PRICE < $P"), {"P": '"1","2"'})
    assert bind(parse("INCLUDE ItemID WHERE Items.PRICE < $P"), {"P": '"20"'}).exprs[0].where[0][0].values == ("20",)


# -- evaluator ---------------------------------------------------------------------------------
