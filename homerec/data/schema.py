# SPDX-License-Identifier: Apache-2.0
"""The single spelling of every column, table and event-type name."""

# Columns of the Personalize dataset layout (matched case-insensitively on import).
USER_ID = "USER_ID"
ITEM_ID = "ITEM_ID"
TIMESTAMP = "TIMESTAMP"
EVENT_TYPE = "EVENT_TYPE"
EVENT_VALUE = "EVENT_VALUE"
ORDER_ID = "ORDER_ID"
"""The order (basket) a line belongs to; without it, one customer's events at one timestamp form a basket."""
QUANTITY = "QUANTITY"
"""Units on the order line (re-order quantities)."""
REQUIRED_INTERACTION_COLUMNS = (USER_ID, ITEM_ID, TIMESTAMP)
OPTIONAL_INTERACTION_COLUMNS = (EVENT_TYPE, EVENT_VALUE, ORDER_ID, QUANTITY)

# Column names of in-memory frames (polars) and store tables.
class Col:
    """Lower-case column names used inside homerec (frames and SQL tables)."""

    user_id = "user_id"
    item_id = "item_id"
    ts = "ts"
    event_type = "event_type"
    event_value = "event_value"
    order_id = "order_id"
    quantity = "quantity"
    event_id = "event_id"
    recommendation_id = "recommendation_id"  # optional on events: the served list that led to them
    metadata = "metadata"
    updated_at = "updated_at"
    # rec_cache
    namespace = "namespace"
    key = "key"
    ranked = "items"
    model_version = "model_version"
    computed_at = "computed_at"
    # schema_version
    version = "version"
    # experiments (see homerec.experiments.spec)
    name = "name"
    spec = "spec"
    status = "status"
    created_at = "created_at"
    # exposures: one row per served (or shadow-computed) list; its item ids are in `ranked`
    experiment = "experiment"
    variant = "variant"
    served = "served"
    placement = "placement"  # the named placement a list was served for (null: none)
    # changes: the feed serving processes follow (see homerec.storage.feed)
    seq = "seq"
    kind = "kind"
    feed_seq = "feed_seq"  # rec_cache: the change-feed position when the batch read its events
    # deleted_users: one tombstone per deleted user id
    deleted_at = "deleted_at"
    # interactions and context_events (version 5): what a PutEvents event carries besides the interaction
    session_id = "session_id"  # the session it was sent in (anonymous events: also its user_id until joined)
    properties = "properties"  # JSON object text of the event's extra fields
    impression = "impression"  # item ids shown with the event, `|`-joined (Personalize IMPRESSION)
    attribution = "attribution"  # metricAttribution.eventAttributionSource
    # personalize_resources (version 5): control-plane records (filters, solution versions, jobs, campaigns)
    arn = "arn"
    group = "dataset_group"
    doc = "doc"
    chosen = "chosen"  # impressions: the shown item is the one the event was on


INTERACTION_FRAME_COLUMNS = (
    Col.user_id, Col.item_id, Col.ts, Col.event_type, Col.event_value, Col.order_id, Col.quantity,
)  # fmt: skip
"""Columns of interaction frames; `order_id` and `quantity` are null where the data has none."""
EXPOSURE_FRAME_COLUMNS = (
    Col.recommendation_id, Col.experiment, Col.variant, Col.user_id, Col.ranked, Col.ts, Col.served, Col.placement,
)  # fmt: skip
"""Columns of exposure frames; `items` (`Col.ranked`) holds the list of item ids, best first; `placement`
may be null (and absent from frames written before placements: read as null)."""
NO_EXPERIMENT = ""
"""The `experiment` (and `variant`) of an exposure served for a placement outside any experiment."""
ATTRIBUTABLE_EVENT_COLUMNS = (*INTERACTION_FRAME_COLUMNS, Col.event_id, Col.recommendation_id)
"""Columns of `Store.attributable_events`: events plus the recommendation they are linked to (or null)."""
EVENT_DETAIL_COLUMNS = (Col.session_id, Col.properties, Col.impression, Col.attribution)
"""Optional columns of events (PutEvents keeps them; file imports leave them null)."""
CONTEXT_EVENT_COLUMNS = (
    Col.event_id, Col.user_id, Col.ts, Col.event_type, Col.event_value, Col.recommendation_id, *EVENT_DETAIL_COLUMNS,
)  # fmt: skip
"""Columns of events without an item (a page view, a search): `Store.context_events`."""
IMPRESSION_COLUMNS = (Col.event_id, Col.user_id, Col.ts, Col.item_id, Col.chosen)
"""Columns of `Store.impressions`: one row per item shown with an event; `chosen` when the event was on it."""
RECOMMENDATION_ID_MAX = 40
"""Longest recommendation id the exposure log accepts."""

# Table names.
INTERACTIONS_TABLE = "interactions"
ITEMS_TABLE = "items"
USERS_TABLE = "users"
REC_CACHE_TABLE = "rec_cache"
SCHEMA_VERSION_TABLE = "schema_version"
EXPERIMENTS_TABLE = "experiments"
EXPOSURES_TABLE = "exposures"
EVENT_LINKS_TABLE = "event_links"
CHANGES_TABLE = "changes"
DELETED_USERS_TABLE = "deleted_users"
CONTEXT_EVENTS_TABLE = "context_events"
RESOURCES_TABLE = "personalize_resources"


class Change:
    """Kinds of rows in the change feed; `key` says what changed."""

    events = "events"  # key: a user id whose events were added
    deleted = "deleted"  # key: a user id whose data was deleted
    items = "items"  # key: an item id whose metadata changed
    users = "users"  # key: a user id whose metadata changed
    recs = "recs"  # key: a cache namespace that was written (lists refreshed)
    lists = "lists"  # key: a cache namespace whose lists the shared cache (Redis) switched to a new generation
    model = "model"  # key: the model version made active (promote, rollback, a training that activates)


class Resource:
    """Kinds of control-plane records (`personalize_resources`)."""

    filter = "filter"
    campaign = "campaign"
    solution_version = "solution-version"
    batch_inference_job = "batch-inference-job"
    dataset_import_job = "dataset-import-job"


# Cache namespaces.
USER_RECS = "user"
SIMILAR_ITEMS = "item"

# Categorical fields may hold several values separated by this character.
MULTI_VALUE_SEP = "|"

DEFAULT_EVENT_TYPE = "purchase"

# How much one event of a type counts in training; unknown types count 1.0.
DEFAULT_EVENT_WEIGHTS: dict[str, float] = {
    "purchase": 1.0,
    "order": 1.0,
    "rating": 1.0,
    "add-to-cart": 0.5,
    "addtocart": 0.5,
    "cart": 0.5,
    "like": 0.5,
    "click": 0.25,
    "view": 0.1,
    "watch": 0.5,
}

# Users metadata column naming the bill-to account a buyer orders for (PutUsers properties `accountId`).
ACCOUNT_ID = "ACCOUNT_ID"

# Item metadata columns read by name (matched case-insensitively), in order of preference.
CATEGORY_COLUMNS = ("CATEGORY", "CATEGORIES", "GENRES", "GENRE", "DEPARTMENT", "PRODUCT_CATEGORY")
PRICE_COLUMNS = ("PRICE", "UNIT_PRICE", "LIST_PRICE")
