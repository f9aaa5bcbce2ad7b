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


INTERACTION_FRAME_COLUMNS = (
    Col.user_id, Col.item_id, Col.ts, Col.event_type, Col.event_value, Col.order_id, Col.quantity,
)  # fmt: skip
"""Columns of interaction frames; `order_id` and `quantity` are null where the data has none."""
EXPOSURE_FRAME_COLUMNS = (
    Col.recommendation_id, Col.experiment, Col.variant, Col.user_id, Col.ranked, Col.ts, Col.served,
)  # fmt: skip
"""Columns of exposure frames; `items` (`Col.ranked`) holds the list of item ids, best first."""
ATTRIBUTABLE_EVENT_COLUMNS = (*INTERACTION_FRAME_COLUMNS, Col.event_id, Col.recommendation_id)
"""Columns of `Store.attributable_events`: events plus the recommendation they are linked to (or null)."""
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
