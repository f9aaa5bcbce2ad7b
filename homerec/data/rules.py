# SPDX-License-Identifier: Apache-2.0
"""What an id and a number must be to enter homerec: one rule, used at every edge and by the store.

Ids (user, item, event and event-type names): surrounding whitespace is trimmed (`" WS1 "`
and `"WS1"` are one customer), then the id must be 1 to `MAX_ID_CHARS` characters long and
hold no control character (U+0000-U+001F, U+007F-U+009F; NUL included). Trimming rather
than refusing: spreadsheets and ERP exports pad ids, and a padded id is never meant as a
different customer. The whitespace trimmed is Unicode's White_Space set, spelled out below
so that Python (`clean_id`) and polars (`trimmed`) trim exactly the same characters.

Numbers (event values): finite, with a magnitude of at most `MAX_ABS_VALUE`. The bound
leaves room for SQLite, which writes a REAL with 15 significant digits when it serialises
rows; the largest doubles would come back rounded past the float range.

Callers: `homerec.storage.validate` (import, vectorised with `id_checks`), the native and
Personalize request schemas (`clean_id`, `finite_value`), and the store (`is_storable_id`
for point reads, `bad_id` for writes and for rows already stored).
"""

import math
import re

import polars as pl

MAX_ID_CHARS = 256
"""Longest id, in characters (AWS Personalize's limit for user and item ids)."""
MAX_ABS_VALUE = 1e300
"""Largest event value magnitude accepted."""
DEFAULT_FUTURE_SKEW_S = 86_400
"""How far in the future an event may be dated (clock skew between systems), by default: one day."""
WHITESPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)
"""Unicode's White_Space characters: what `clean_id` trims from both ends."""
CONTROL_CLASS = "\\x00-\\x1f\\x7f-\\x9f"
"""The control characters an id may not hold, as a regex character-class body (Python and Rust)."""
ID_PATTERN = "^[^\\u0000-\\u001f\\u007f-\\u009f]{1,%d}$" % MAX_ID_CHARS
"""The id rule as a JSON-Schema (ECMA) pattern, for the OpenAPI document (after trimming)."""

_CONTROL = re.compile(f"[{CONTROL_CLASS}]")


def id_problem(value: str) -> str | None:
    """Why a trimmed id breaks the rule (None when it is fine)."""
    if not value:
        return "is empty"
    if len(value) > MAX_ID_CHARS:
        return f"is longer than {MAX_ID_CHARS} characters ({len(value):,})"
    found = _CONTROL.search(value)
    if found is not None:
        return f"holds the control character U+{ord(found.group()):04X}"
    return None


def clean_id(value: str, what: str = "id") -> str:
    """`value` trimmed, when it then follows the id rule.

    Raises:
        ValueError: the trimmed id is empty, too long or holds a control character.
    """
    trimmed = value.strip(WHITESPACE)
    problem = id_problem(trimmed)
    if problem is not None:
        raise ValueError(f"{what} {problem}")
    return trimmed


def is_storable_id(value: object) -> bool:
    """True when `value` is a str the store may hold: not empty, not too long, no control character.

    Trimming is the edges' work (an older store may hold padded ids, and they stay findable).
    The store answers "nothing stored" for other ids without asking the database: no such
    id can be written, and PostgreSQL refuses a NUL in a query parameter.
    """
    return isinstance(value, str) and id_problem(value) is None


def trimmed(column: pl.Expr) -> pl.Expr:
    """An id column with surrounding whitespace removed (what `clean_id` does, for polars)."""
    return column.str.strip_chars(WHITESPACE)


def id_checks(column: pl.Expr, name: str) -> list[tuple[pl.Expr, str]]:
    """(failing condition, reason) pairs for a column of trimmed ids, for vectorised validation."""
    return [
        (column == "", f"empty {name}"),
        (column.str.len_chars() > MAX_ID_CHARS, f"{name} is longer than {MAX_ID_CHARS} characters"),
        (column.str.contains(f"[{CONTROL_CLASS}]"), f"{name} holds a control character"),
    ]


def bad_id(column: pl.Expr) -> pl.Expr:
    """True where an id (as stored, not trimmed) is empty, too long or holds a control character."""
    return pl.any_horizontal([condition for condition, _ in id_checks(column, "")]).fill_null(True)


def finite_value(value: float | int, what: str = "value") -> float:
    """`value` as a float when it is finite and within ±`MAX_ABS_VALUE`.

    Raises:
        ValueError: NaN, an infinity, or a number too large (an integer of 400 digits too).
    """
    try:
        number = float(value)
    except OverflowError:
        raise ValueError(f"{what} is too large (at most {MAX_ABS_VALUE:g})") from None
    if not math.isfinite(number):
        raise ValueError(f"{what} must be a finite number")
    if abs(number) > MAX_ABS_VALUE:
        raise ValueError(f"{what} is too large (at most {MAX_ABS_VALUE:g})")
    return number


def bad_value(column: pl.Expr) -> pl.Expr:
    """True where a float value is NaN, infinite or beyond ±`MAX_ABS_VALUE` (null is fine)."""
    return (column.is_nan() | (column.abs() > MAX_ABS_VALUE)).fill_null(False)
