# SPDX-License-Identifier: Apache-2.0
"""Tokens of a filter expression: strings, numbers, $placeholders, operators and words."""

import re
from dataclasses import dataclass

from homerec.filters.syntax import FilterError

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
class Token:
    """One token: its kind (str num param op word end), text and position in the expression."""

    kind: str
    text: str
    pos: int


def tokens(text: str) -> list[Token]:
    """Every token of `text`, ending with an `end` token."""
    out, pos = [], 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            out.append(Token("end", "", pos))
            return out
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise FilterError(f"filter expression: unexpected character {text[pos]!r} at position {pos}")
        kind = m.lastgroup or ""
        out.append(Token(kind, m.group(kind), m.start(kind)))
        pos = m.end()


def unquote(token: str) -> str:
    """The text of a `"..."` token, backslash escapes resolved."""
    return re.sub(r"\\(.)", r"\1", token[1:-1])
