# SPDX-License-Identifier: Apache-2.0
"""Point reads on the request path: a SELECT compiled once, run on a pooled DBAPI connection.

Serving reads one user's events and one cached list per request. Through a SQLAlchemy
`Connection` each such read costs about 0.4 ms of Python (statement cache lookup, result
processing); the same statement on the pooled driver connection costs about 0.03 ms. The SQL
is still written with SQLAlchemy Core and compiled for the store's dialect, once.
"""

from typing import Any

import sqlalchemy as sa


class PointQuery:
    """A small SELECT with named `sa.bindparam`s, compiled once for an engine's dialect."""

    def __init__(self, engine: sa.Engine, query: sa.Select[Any]) -> None:
        compiled = query.compile(dialect=engine.dialect)
        self.engine = engine
        self.sql = compiled.string
        self.positional: list[str] | None = list(compiled.positiontup) if compiled.positiontup else None

    def rows(self, **params: Any) -> list[tuple[Any, ...]]:
        """Every row of the query for these parameter values."""
        args: Any = [params[name] for name in self.positional] if self.positional is not None else params
        conn = self.engine.raw_connection()
        try:
            cursor = conn.cursor()
            try:
                cursor.execute(self.sql, args)
                return cursor.fetchall()
            finally:
                cursor.close()
        finally:
            conn.close()  # back to the pool (which rolls back any open transaction)
