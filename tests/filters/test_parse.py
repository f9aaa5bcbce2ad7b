# SPDX-License-Identifier: Apache-2.0
"""Parsing filter expressions: every construct, and errors that say where."""

import pytest

from homerec.filters import FilterError, parse
from homerec.filters.syntax import Cond, Value

NOT_BOUGHT = 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase")'
BY_CATEGORY = "INCLUDE ItemID WHERE Items.CATEGORY IN ($CATS)"

# -- parser ------------------------------------------------------------------------------------

def test_parse_each_construct():
    f = parse('INCLUDE ItemID WHERE Items.CATEGORY_L1 IN ($CATS, "x") | EXCLUDE itemid where '
              'interactions.event_type in ("purchase")')
    assert [e.include for e in f.exprs] == [True, False]
    assert f.exprs[0].where == ((Cond("ITEMS", "CATEGORY_L1", "IN", (Value(param="CATS"), Value("x", quoted=True))),),)
    assert f.exprs[1].where[0][0] == Cond("INTERACTIONS", "EVENT_TYPE", "IN", (Value("purchase", quoted=True),))
    assert f.placeholders == {"CATS"}
    f = parse('INCLUDE ItemID WHERE Items.A NOT IN ("1") AND Items.PRICE <= $MAX OR Items.B >= 2.5')
    (e,) = f.exprs
    assert [[c.op for c in g] for g in e.where] == [["NOT IN", "<="], [">="]]  # AND binds tighter than OR
    for op in ("=", "<", ">", "<=", ">="):
        assert parse(f"EXCLUDE ItemID WHERE Items.PRICE {op} 3").exprs[0].where[0][0].op == op
    e = parse('EXCLUDE ItemID WHERE Items.ADULT IN ("yes") IF CurrentUser.AGE < 18 AND CurrentUser.X IN ("a")').exprs[0]
    assert [c.dataset for c in e.when] == ["CURRENTUSER", "CURRENTUSER"]
    assert parse('INCLUDE ItemID WHERE Users.SEGMENT IN ("retail")').exprs[0].dataset == "USERS"
    assert parse("INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN (*)").exprs[0].where[0][0].values[0].text == "*"


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("KEEP ItemID WHERE Items.A IN (\"x\")", "INCLUDE or EXCLUDE"),
    ("INCLUDE ItemID Items.A IN (\"x\")", "expected WHERE"),
    ("INCLUDE ItemID WHERE Items.A IN (\"x\"", "expected ')'"),
    ("INCLUDE ItemID WHERE Items.A IN ()", "a value"),
    ("INCLUDE ItemID WHERE Items.A IN (\"x\",)", "a value"),
    ("INCLUDE ItemID WHERE Items.A LIKE \"x\"", "IN, NOT IN or a comparison"),
    ("INCLUDE ItemID WHERE A IN (\"x\")", "a field like Items.CATEGORY"),
    ("INCLUDE ItemID WHERE Products.A IN (\"x\")", "unknown dataset"),
    ("INCLUDE ItemID WHERE Items.A IN (\"x\") AND Interactions.EVENT_TYPE IN (\"a\")", "one dataset"),
    ("INCLUDE ItemID WHERE Items.A IN (\"x\") |", "INCLUDE or EXCLUDE"),
    ("INCLUDE ItemID WHERE Items.A IN (\"x\") extra", "or the end"),
    ("INCLUDE ItemID WHERE Items.A IN ('x')", "unexpected character"),
    ("INCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRICE", "a number"),
    ("INCLUDE ItemID WHERE Items.G IN CurrentItem.G", "CurrentItem"),
    ("INCLUDE ItemID WHERE CurrentUser.AGE < 3", "after IF"),
    ("INCLUDE ItemID WHERE Items.A IN (\"x\") IF Items.B IN (\"y\")", "IF takes CurrentUser"),
    ("INCLUDE UserID WHERE Items.A IN (\"x\")", "only ItemID"),
    ("INCLUDE ItemID WHERE Interactions.SESSION IN (\"x\")", "not supported"),
    ("INCLUDE ItemID WHERE Items.A IN (\"" + "x" * 2600 + "\")", "longer than"),
])
def test_parse_errors(text, message):
    with pytest.raises(FilterError) as err:
        parse(text)
    assert message in str(err.value)


