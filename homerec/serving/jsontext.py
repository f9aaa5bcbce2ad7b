# SPDX-License-Identifier: Apache-2.0
"""JSON from clients: one parser for request bodies, `properties` strings and `filter_values`.

`json.loads` alone accepts what homerec must not store or cannot answer about: `NaN` and
`Infinity`, numbers that overflow to infinity (`1e400`), nesting deep enough to exhaust the
interpreter's recursion limit (a `RecursionError`, not a `ValueError`), and `\\uD800` escapes
that leave lone surrogates no encoder takes. `loads` refuses each with a `ValueError`
whose message says why, so every caller answers 400/422, never 500.
"""

import json
import math
import re
from typing import Any

MAX_DEPTH = 32
"""Deepest nesting of arrays and objects accepted (no request of either API needs more than 4)."""

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
"""A \\uD800-\\uDFFF escape: json.loads joins valid pairs and leaves lone halves."""


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:40]} is too large")
    return value


def loads(data: bytes | str) -> Any:
    """Parse client JSON; ValueError (with the reason) for anything the module docstring lists."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data  # UnicodeDecodeError is a ValueError
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels") from None
    _check(value, bool(_SURROGATE_ESCAPE.search(text)))
    return value


def _check(value: Any, surrogates: bool) -> None:
    """Depth and (when the text had such escapes) lone surrogates, without recursion."""
    stack = [(value, 0)]
    while stack:
        v, depth = stack.pop()
        if isinstance(v, dict | list):
            if depth >= MAX_DEPTH:
                raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
            children = [*v.keys(), *v.values()] if isinstance(v, dict) else v
            stack.extend((child, depth + 1) for child in children)
        elif surrogates and isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("a \\u escape is a lone UTF-16 surrogate") from None
