# SPDX-License-Identifier: Apache-2.0
"""Pydantic field types of both APIs, built on `homerec.data.rules`: ids, short labels, finite numbers.

The native schemas (snake_case) and the Personalize schemas (camelCase) share them, so an id
means the same on every route: trimmed, 1 to 256 characters, no control character.
"""

from typing import Annotated

from pydantic import AfterValidator, StrictFloat, StrictInt, StrictStr, WithJsonSchema

from homerec.data.rules import ID_PATTERN, MAX_ID_CHARS, clean_id, finite_value


def _id(value: str) -> str:
    return clean_id(value, "id")


def _label(max_chars: int):  # noqa: ANN202 (a validator factory)
    def check(value: str) -> str:
        value = clean_id(value, "value")
        if len(value) > max_chars:
            raise ValueError(f"value is longer than {max_chars} characters")
        return value

    return check


def _schema(max_chars: int) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "minLength": 1, "maxLength": max_chars,
                           "pattern": ID_PATTERN.replace(str(MAX_ID_CHARS), str(max_chars))})


Id = Annotated[StrictStr, AfterValidator(_id), _schema(MAX_ID_CHARS)]
"""A user or item id (or any other name the store keys on): trimmed, then the id rule."""


def Label(max_chars: int) -> object:  # noqa: N802 (reads as a type)
    """An id-like name of at most `max_chars` characters (event types, recommendation ids)."""
    return Annotated[StrictStr, AfterValidator(_label(max_chars)), _schema(max_chars)]


def _finite(value: float | int) -> float | int:
    finite_value(value, "number")
    return value


Finite = Annotated[StrictFloat | StrictInt, AfterValidator(_finite)]
"""A JSON number that is finite and within ±1e300 (an integer of 400 digits is refused too)."""
FiniteFloat = Annotated[StrictFloat, AfterValidator(_finite)]
"""A finite JSON float (metadata values)."""
