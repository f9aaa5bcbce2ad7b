# SPDX-License-Identifier: Apache-2.0
"""Personalize filter expressions: parsed, bound to their values and evaluated without any eval.

    EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase")
    INCLUDE ItemID WHERE Items.CATEGORY IN ($CATS) | EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")
    INCLUDE ItemID WHERE Items.AVAILABLE IN ("True") AND Items.PRICE <= $MAX_PRICE
    EXCLUDE ItemID WHERE Items.ADULT IN ("yes") IF CurrentUser.AGE < 18

Three steps, one module each:

- `parse(text) -> Filter` (`lexer`, `parse`): the syntax tree, cached per text; errors say where.
- `bind(filter, values) -> BoundFilter` (`bind`): placeholders filled from filterValues.
- `evaluate(bound, data) -> Selection` (`evaluate`): what the filter keeps for one user, from
  `FilterData` (item metadata, the user's events, the user's row, each read only if needed).

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

Errors are `FilterError` (an `InputError`) with a message that says what went wrong.
"""

from homerec.filters.bind import BoundFilter, bind, parse_values
from homerec.filters.evaluate import FilterData, Selection, column_of, evaluate, fields_of, has_column, select
from homerec.filters.parse import parse
from homerec.filters.syntax import Filter, FilterError

__all__ = ["BoundFilter", "Filter", "FilterData", "FilterError", "Selection", "bind", "column_of", "evaluate",
           "fields_of", "has_column", "parse", "parse_values", "select"]
