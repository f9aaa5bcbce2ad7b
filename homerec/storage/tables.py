# SPDX-License-Identifier: Apache-2.0
"""SQLAlchemy Core tables of the store, named from `homerec.data.schema`, and their creation."""

import sqlalchemy as sa

from homerec.data.schema import (
    INTERACTIONS_TABLE,
    ITEMS_TABLE,
    REC_CACHE_TABLE,
    SCHEMA_VERSION_TABLE,
    USERS_TABLE,
    Col,
)
from homerec.errors import StoreError

SCHEMA_VERSION = 1
"""Version of the table layout below; bump it (and migrate) on any change."""

Id = sa.String().with_variant(sa.String(collation="C"), "postgresql")
"""An opaque identifier: compared byte by byte (SQLite's BINARY, PostgreSQL's "C"), so ids
sort the same on both backends and PostgreSQL skips slow locale-aware comparisons."""

metadata = sa.MetaData()

interactions = sa.Table(
    INTERACTIONS_TABLE,
    metadata,
    sa.Column(Col.event_id, Id, primary_key=True),
    sa.Column(Col.user_id, Id, nullable=False),
    sa.Column(Col.item_id, Id, nullable=False),
    sa.Column(Col.ts, sa.BigInteger, nullable=False),
    sa.Column(Col.event_type, sa.String, nullable=False),
    sa.Column(Col.event_value, sa.Float, nullable=True),
    # (user_id, ts) serves history() in order without a sort, and delete_user().
    sa.Index(f"ix_{INTERACTIONS_TABLE}_{Col.user_id}_{Col.ts}", Col.user_id, Col.ts),
    sa.Index(f"ix_{INTERACTIONS_TABLE}_{Col.ts}", Col.ts),
)


def _entity_table(name: str, id_column: str) -> sa.Table:
    """Items and users: an id, a JSON text object of metadata strings, and when it last changed."""
    return sa.Table(
        name,
        metadata,
        sa.Column(id_column, Id, primary_key=True),
        sa.Column(Col.metadata, sa.Text, nullable=False),
        sa.Column(Col.updated_at, sa.BigInteger, nullable=False),
    )


items = _entity_table(ITEMS_TABLE, Col.item_id)
users = _entity_table(USERS_TABLE, Col.user_id)

rec_cache = sa.Table(
    REC_CACHE_TABLE,
    metadata,
    sa.Column(Col.namespace, Id, primary_key=True),
    sa.Column(Col.key, Id, primary_key=True),
    sa.Column(Col.ranked, sa.Text, nullable=False),  # JSON [[item_id, score], ...], best first
    sa.Column(Col.model_version, sa.String, nullable=False),
    sa.Column(Col.computed_at, sa.BigInteger, nullable=False),
)

schema_version = sa.Table(
    SCHEMA_VERSION_TABLE,
    metadata,
    sa.Column(Col.version, sa.Integer, nullable=False),
)

DATA_TABLES = (interactions, items, users, rec_cache)
"""The tables `Store.counts()` reports, in that order."""


def create_all(engine: sa.Engine) -> None:
    """Create missing tables and check that an existing store has our schema version.

    Raises:
        StoreError: the store was written by a homerec with another schema version.
    """
    metadata.create_all(engine, checkfirst=True)
    with engine.begin() as conn:
        found = conn.execute(sa.select(schema_version.c[Col.version])).scalars().all()
        if not found:
            conn.execute(sa.insert(schema_version).values({Col.version: SCHEMA_VERSION}))
        elif found != [SCHEMA_VERSION]:
            raise StoreError(
                f"the store has schema version {found[0]}, this homerec expects {SCHEMA_VERSION}; "
                "use a matching homerec version or a new database"
            )
