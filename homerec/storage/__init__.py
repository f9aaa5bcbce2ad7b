# SPDX-License-Identifier: Apache-2.0
"""The store: events, catalog, users and cached lists in SQLite (default) or PostgreSQL.

    store = open_store("sqlite:///homerec.db")
    import_folder(store, "personalize-export/")
    frame = store.interactions()
"""

import sqlalchemy as sa

from homerec.errors import ConfigError
from homerec.storage.base import AddResult, CachedList, Store, event_ids
from homerec.storage.dialects import POSTGRESQL, SQLITE, Dialect
from homerec.storage.load import (
    ImportReport,
    import_folder,
    import_interactions,
    import_items,
    import_users,
)
from homerec.storage.sql import SqlStore

__all__ = [
    "AddResult",
    "CachedList",
    "ImportReport",
    "Store",
    "event_ids",
    "import_folder",
    "import_interactions",
    "import_items",
    "import_users",
    "open_store",
]

BACKENDS: dict[str, Dialect] = {"sqlite": SQLITE, "postgresql": POSTGRESQL}
"""URL scheme → backend. `postgres://` is accepted as an alias of `postgresql://`."""

ACCEPTED_URLS = (
    "sqlite:///relative/path.db, sqlite:////absolute/path.db, sqlite:// (in memory), "
    "postgresql://user:password@host:port/database"
)


def open_store(url: str) -> Store:
    """Open (and create the tables of, if missing) the store at `url`.

    Raises:
        ConfigError: `url` is malformed or names an unknown backend or driver.
        StoreError: the database cannot be reached or opened.
    """
    try:
        parsed = sa.make_url(url)
    except (sa.exc.ArgumentError, ValueError, TypeError):
        raise ConfigError(f"malformed store URL {url!r}; accepted forms: {ACCEPTED_URLS}") from None
    backend, _, driver = parsed.drivername.partition("+")
    dialect = BACKENDS.get("postgresql" if backend == "postgres" else backend)
    if dialect is None or driver not in ("", dialect.driver):
        raise ConfigError(
            f"unknown store URL scheme {parsed.drivername!r} in {parsed.render_as_string(hide_password=True)!r}; "
            f"accepted forms: {ACCEPTED_URLS}"
        )
    return SqlStore(parsed, dialect)
