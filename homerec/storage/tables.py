# SPDX-License-Identifier: Apache-2.0
"""SQLAlchemy Core tables of the store, named from `homerec.data.schema`, and their creation."""

from dataclasses import dataclass

import sqlalchemy as sa

from homerec.data.schema import (
    CHANGES_TABLE,
    CONTEXT_EVENTS_TABLE,
    DELETED_USERS_TABLE,
    EVENT_LINKS_TABLE,
    EXPERIMENTS_TABLE,
    EXPOSURES_TABLE,
    INTERACTIONS_TABLE,
    ITEMS_TABLE,
    REC_CACHE_TABLE,
    RECOMMENDATION_ID_MAX,
    RESOURCES_TABLE,
    SCHEMA_VERSION_TABLE,
    USERS_TABLE,
    Col,
)
from homerec.errors import StoreError

SCHEMA_VERSION = 7
"""Version of the table layout below; bump it (and add a step to `MIGRATIONS`) on any change."""

Id = sa.String().with_variant(sa.String(collation="C"), "postgresql")
"""An opaque identifier: compared byte by byte (SQLite's BINARY, PostgreSQL's "C"), so ids
sort the same on both backends and PostgreSQL skips slow locale-aware comparisons."""

RecommendationId = sa.String(RECOMMENDATION_ID_MAX).with_variant(
    sa.String(RECOMMENDATION_ID_MAX, collation="C"), "postgresql"
)
"""The id of one served list (a Personalize `recommendationId`), compared like `Id`."""

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
    # -- version 5: what a PutEvents event carries besides the interaction (null for file imports) --
    sa.Column(Col.session_id, Id, nullable=True),
    sa.Column(Col.properties, sa.Text, nullable=True),
    sa.Column(Col.impression, sa.Text, nullable=True),
    sa.Column(Col.attribution, sa.String, nullable=True),
    # -- version 6: the order a line belongs to, and its units (both optional) --
    sa.Column(Col.order_id, sa.String, nullable=True),
    sa.Column(Col.quantity, sa.Float, nullable=True),
    # (user_id, ts) serves history() in order without a sort, and delete_user().
    sa.Index(f"ix_{INTERACTIONS_TABLE}_{Col.user_id}_{Col.ts}", Col.user_id, Col.ts),
    sa.Index(f"ix_{INTERACTIONS_TABLE}_{Col.ts}", Col.ts),
)
SESSION_INDEX_SQL = (
    f"CREATE INDEX IF NOT EXISTS ix_{INTERACTIONS_TABLE}_{Col.session_id} ON {INTERACTIONS_TABLE} ({Col.session_id}) "
    f"WHERE {Col.session_id} IS NOT NULL"
)
"""Finds a session's events when the session is joined to its user; partial, so imported rows cost nothing."""
sa.event.listen(interactions, "after_create", sa.DDL(SESSION_INDEX_SQL))


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
    # version 4: the change-feed position when the batch read its events (0: written before the feed)
    sa.Column(Col.feed_seq, sa.BigInteger, nullable=False, server_default="0"),
)

schema_version = sa.Table(
    SCHEMA_VERSION_TABLE,
    metadata,
    sa.Column(Col.version, sa.Integer, nullable=False),
)

# -- version 2: A/B experiments ----------------------------------------------------------------
experiments = sa.Table(
    EXPERIMENTS_TABLE,
    metadata,
    sa.Column(Col.name, Id, primary_key=True),
    sa.Column(Col.spec, sa.Text, nullable=False),  # JSON of homerec.experiments.spec.Experiment
    sa.Column(Col.status, sa.String, nullable=False),
    sa.Column(Col.created_at, sa.BigInteger, nullable=False),
    sa.Column(Col.updated_at, sa.BigInteger, nullable=False),
)

exposures = sa.Table(
    EXPOSURES_TABLE,
    metadata,
    sa.Column(Col.recommendation_id, RecommendationId, primary_key=True),
    sa.Column(Col.experiment, Id, nullable=False),
    sa.Column(Col.variant, Id, nullable=False),
    sa.Column(Col.user_id, Id, nullable=False),
    sa.Column(Col.ranked, sa.Text, nullable=False),  # JSON [item_id, ...], best first
    sa.Column(Col.ts, sa.BigInteger, nullable=False),
    sa.Column(Col.served, sa.Boolean, nullable=False),  # False: computed in shadow mode, not shown
    # version 7: the placement a list was served for (null: none)
    sa.Column(Col.placement, Id, nullable=True),
    # (experiment, ts) serves exposures(experiment, since); user_id serves delete_user() and shown_counts().
    sa.Index(f"ix_{EXPOSURES_TABLE}_{Col.experiment}_{Col.ts}", Col.experiment, Col.ts),
    sa.Index(f"ix_{EXPOSURES_TABLE}_{Col.user_id}", Col.user_id),
)
PLACEMENT_INDEX_SQL = (
    f"CREATE INDEX IF NOT EXISTS ix_{EXPOSURES_TABLE}_{Col.placement}_{Col.ts} ON {EXPOSURES_TABLE} "
    f"({Col.placement}, {Col.ts}) WHERE {Col.placement} IS NOT NULL"
)
"""Serves placement_exposures(since); partial, so lists served outside placements cost nothing."""
sa.event.listen(exposures, "after_create", sa.DDL(PLACEMENT_INDEX_SQL))

event_links = sa.Table(
    EVENT_LINKS_TABLE,
    metadata,
    sa.Column(Col.event_id, Id, primary_key=True),
    sa.Column(Col.recommendation_id, RecommendationId, nullable=False),
)

# -- version 3: deleted users -------------------------------------------------------------------
deleted_users = sa.Table(
    DELETED_USERS_TABLE,
    metadata,
    sa.Column(Col.user_id, Id, primary_key=True),
    sa.Column(Col.deleted_at, sa.BigInteger, nullable=False),
)
"""Tombstones of deleted users: cached lists and exposures for them are refused until new events arrive."""

# -- version 4: the change feed -------------------------------------------------------------------
changes = sa.Table(
    CHANGES_TABLE,
    metadata,
    # SQLite: AUTOINCREMENT, so a seq is never reused even after the newest rows are pruned.
    sa.Column(Col.seq, sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column(Col.kind, sa.String, nullable=False),
    sa.Column(Col.key, Id, nullable=False),
    sa.Column(Col.ts, sa.BigInteger, nullable=False),
    sqlite_autoincrement=True,
)
NOTIFY_CHANNEL = "homerec_changes"
"""PostgreSQL: every committed insert into `changes` notifies this channel (a statement trigger)."""
sa.event.listen(changes, "after_create", sa.DDL(
    f"CREATE FUNCTION {CHANGES_TABLE}_notify() RETURNS trigger LANGUAGE plpgsql AS "
    f"$$ BEGIN PERFORM pg_notify('{NOTIFY_CHANNEL}', ''); RETURN NULL; END $$; "
    f"CREATE TRIGGER {CHANGES_TABLE}_notify AFTER INSERT ON {CHANGES_TABLE} "
    f"FOR EACH STATEMENT EXECUTE FUNCTION {CHANGES_TABLE}_notify()"
).execute_if(dialect="postgresql"))

# -- version 5: events without an item, and the control plane's records -----------------------------
context_events = sa.Table(
    CONTEXT_EVENTS_TABLE,
    metadata,
    sa.Column(Col.event_id, Id, primary_key=True),
    sa.Column(Col.user_id, Id, nullable=False),
    sa.Column(Col.ts, sa.BigInteger, nullable=False),
    sa.Column(Col.event_type, sa.String, nullable=False),
    sa.Column(Col.event_value, sa.Float, nullable=True),
    sa.Column(Col.recommendation_id, RecommendationId, nullable=True),
    sa.Column(Col.session_id, Id, nullable=True),
    sa.Column(Col.properties, sa.Text, nullable=True),
    sa.Column(Col.impression, sa.Text, nullable=True),
    sa.Column(Col.attribution, sa.String, nullable=True),
    sa.Index(f"ix_{CONTEXT_EVENTS_TABLE}_{Col.user_id}", Col.user_id),
    sa.Index(f"ix_{CONTEXT_EVENTS_TABLE}_{Col.session_id}", Col.session_id),
    sa.Index(f"ix_{CONTEXT_EVENTS_TABLE}_{Col.ts}", Col.ts),
)
"""Events without an item (a page view, a search, a list of impressions): kept with all they carry."""

resources = sa.Table(
    RESOURCES_TABLE,
    metadata,
    sa.Column(Col.arn, Id, primary_key=True),
    sa.Column(Col.kind, sa.String, nullable=False),
    sa.Column(Col.group, Id, nullable=False),
    sa.Column(Col.status, sa.String, nullable=False),
    sa.Column(Col.doc, sa.Text, nullable=False),  # JSON object: the resource as the control plane describes it
    sa.Column(Col.created_at, sa.BigInteger, nullable=False),
    sa.Column(Col.updated_at, sa.BigInteger, nullable=False),
    sa.Index(f"ix_{RESOURCES_TABLE}_{Col.kind}", Col.kind, Col.created_at),
)
"""What the Personalize control plane created (filters, solution versions, jobs, campaign updates), so any
replica can describe it and a job's runner can report its progress."""

DATA_TABLES = (interactions, items, users, rec_cache)
"""The tables `Store.counts()` reports, in that order."""


@dataclass(frozen=True)
class AddColumn:
    """A migration step that adds a nullable column unless it is there already (so two processes
    upgrading one store at once, or a half-finished upgrade, both end well)."""

    table: str
    column: str
    sql_type: str


MIGRATIONS: dict[int, tuple[str | AddColumn, ...]] = {
    1: (),  # version 2 only added tables: experiments, exposures, event_links
    2: (),  # version 3 only added a table: deleted_users
    3: (f"ALTER TABLE {REC_CACHE_TABLE} ADD COLUMN {Col.feed_seq} BIGINT NOT NULL DEFAULT 0",),  # + changes
    4: (  # + context_events, personalize_resources
        f"ALTER TABLE {INTERACTIONS_TABLE} ADD COLUMN {Col.session_id} VARCHAR",
        f"ALTER TABLE {INTERACTIONS_TABLE} ADD COLUMN {Col.properties} TEXT",
        f"ALTER TABLE {INTERACTIONS_TABLE} ADD COLUMN {Col.impression} TEXT",
        f"ALTER TABLE {INTERACTIONS_TABLE} ADD COLUMN {Col.attribution} VARCHAR",
        SESSION_INDEX_SQL,
    ),
    5: (AddColumn(INTERACTIONS_TABLE, Col.order_id, "VARCHAR"), AddColumn(INTERACTIONS_TABLE, Col.quantity, "FLOAT")),
    6: (AddColumn(EXPOSURES_TABLE, Col.placement, "VARCHAR"), PLACEMENT_INDEX_SQL),  # the placement of each exposure
}
"""Version N → steps (SQL statements or `AddColumn`s) that upgrade a version-N store to N+1, run
after `metadata.create_all` has created every missing table (so steps that only add tables are empty)."""


def _run_step(conn: sa.Connection, step: str | AddColumn) -> None:
    if isinstance(step, str):
        conn.exec_driver_sql(step)
    elif step.column not in {c["name"] for c in sa.inspect(conn).get_columns(step.table)}:
        conn.exec_driver_sql(f"ALTER TABLE {step.table} ADD COLUMN {step.column} {step.sql_type}")


def create_all(engine: sa.Engine) -> None:
    """Create missing tables, migrate an older store in place, check the schema version.

    Raises:
        StoreError: the store was written by a homerec with a newer (or unknown) schema version.
    """
    metadata.create_all(engine, checkfirst=True)
    with engine.begin() as conn:
        found = conn.execute(sa.select(schema_version.c[Col.version])).scalars().all()
        if not found:
            conn.execute(sa.insert(schema_version).values({Col.version: SCHEMA_VERSION}))
            return
        version = found[0]
        if len(found) != 1 or not (version == SCHEMA_VERSION or version in MIGRATIONS):
            raise StoreError(
                f"the store has schema version {version}, this homerec expects {SCHEMA_VERSION}; "
                "use a matching homerec version or a new database"
            )
        column = schema_version.c[Col.version]
        for step in range(version, SCHEMA_VERSION):
            for statement in MIGRATIONS[step]:
                _run_step(conn, statement)
            # Conditional, so two processes upgrading the same store at once both succeed.
            conn.execute(sa.update(schema_version).where(column == step).values({Col.version: step + 1}))
