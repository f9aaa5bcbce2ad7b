# SPDX-License-Identifier: Apache-2.0
"""Request and response bodies of the native API (snake_case), validated by pydantic."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from homerec.data.schema import DEFAULT_EVENT_TYPE, RECOMMENDATION_ID_MAX
from homerec.serving.fields import Finite, FiniteFloat, Id, Label

MAX_RESULTS = 500
MAX_EVENTS = 500
MAX_RANK_ITEMS = 500
MAX_FILTER_CHARS = 2500
MAX_CART_ITEMS = 100
MAX_COMPLEMENTS = 100
MAX_SEGMENT_USERS = 10_000

Scalar = StrictStr | StrictInt | FiniteFloat | bool | None
MetaValue = Scalar | list[StrictStr | StrictInt | FiniteFloat]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RecommendQuery(_Strict):
    """Query string of GET recommendations and similar items."""

    num_results: int = Field(10, ge=1, le=MAX_RESULTS)
    min_score: float | None = Field(None, ge=0, le=10)
    exclude: list[Id] = Field(default_factory=list, max_length=MAX_RESULTS)
    filter: str | None = Field(None, min_length=1, max_length=MAX_FILTER_CHARS, description=(
        'A Personalize filter expression, e.g. EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase")'))
    filter_name: str | None = Field(None, min_length=1, max_length=256,
                                    description="The name (or ARN) of a filter configured in `filters`")
    filter_values: str | None = Field(None, min_length=2, max_length=30_000, description=(
        'JSON object: placeholder name → value, as Personalize filterValues ("\\"a\\",\\"b\\"") or a list'))
    include_seen: bool = Field(False, description="Keep products the user already bought (a buy-again list)")


class PlacementQuery(_Strict):
    """Query string of GET a placement's list: what the placement's configuration does not fix."""

    num_results: int | None = Field(None, ge=1, le=MAX_RESULTS,
                                    description="List length (default: the placement's `k`, else the server's)")
    min_score: float | None = Field(None, ge=0, le=10)
    exclude: list[Id] = Field(default_factory=list, max_length=MAX_RESULTS)


class SimilarQuery(_Strict):
    """Query string of GET similar items."""

    num_results: int = Field(10, ge=1, le=MAX_RESULTS)
    exclude: list[Id] = Field(default_factory=list, max_length=MAX_RESULTS)


class RankRequest(_Strict):
    """Body of POST /v1/users/{user_id}/ranking."""

    item_ids: list[Id] = Field(min_length=1, max_length=MAX_RANK_ITEMS)
    context: dict[str, Scalar] | None = None


class BasketRequest(_Strict):
    """Body of POST /v1/baskets/recommendations: a cart, and the customer when known."""

    items: list[Id] = Field(min_length=1, max_length=MAX_CART_ITEMS,
                            description="The cart's item ids (unknown ones are ignored)")
    user_id: Id | None = Field(None, description="The customer: their usual orders count (the habits signal)")
    num_results: int = Field(10, ge=1, le=MAX_COMPLEMENTS)
    exclude: list[Id] = Field(default_factory=list, max_length=MAX_RESULTS, description="Item ids never listed")


class SegmentFormat(_Strict):
    """Query string of POST /v1/segments: the answer's format."""

    format: Literal["json", "csv"] | None = Field(
        None, description="csv: a user_id,score download (also with Accept: text/csv)")


class SegmentQuery(SegmentFormat):
    """Query string of GET /v1/segments/items/{item_id}."""

    k: int = Field(100, ge=1, le=MAX_SEGMENT_USERS, description="How many customers to list")
    include_buyers: bool = Field(False, description="Keep customers who already bought the item(s)")


class SegmentRequest(_Strict):
    """Body of POST /v1/segments: an item attribute expression (Personalize Item-Attribute-Affinity)."""

    attribute: str = Field(min_length=1, max_length=MAX_FILTER_CHARS,
                           description='An Items.<COLUMN> expression, e.g. Items.CATEGORY IN ("Gloves")')
    k: int = Field(100, ge=1, le=MAX_SEGMENT_USERS)
    include_buyers: bool = False


class SegmentUser(BaseModel):
    """One customer of a segment and their probability of buying."""

    user_id: str
    score: float


class SegmentResponse(BaseModel):
    """The customers likeliest to buy, best first."""

    users: list[SegmentUser]
    model_version: str


class Event(_Strict):
    """One interaction; `timestamp` is epoch seconds (default: now)."""

    user_id: Id
    item_id: Id
    event_type: Label(64) = DEFAULT_EVENT_TYPE  # type: ignore[valid-type]
    timestamp: StrictInt | None = Field(None, ge=0, le=4_102_444_800, description=(
        "Epoch seconds; at most `max_future_skew_s` (default one day) after the server's clock"))
    event_value: Finite | None = None
    event_id: Id | None = None
    recommendation_id: Label(RECOMMENDATION_ID_MAX) | None = Field(  # type: ignore[valid-type]
        None, description="The recommendation_id of the list that led to this event (for A/B attribution)")


class EventsRequest(_Strict):
    """Body of POST /v1/events."""

    events: list[Event] = Field(min_length=1, max_length=MAX_EVENTS)


class EventsResponse(BaseModel):
    """Events stored, and events skipped because their id was already known."""

    accepted: int
    duplicates: int


Metadata = dict[Label(128), MetaValue]  # type: ignore[valid-type]
"""Body of PUT /v1/items/{id} and /v1/users/{id}: field → value (lists are multi-valued fields)."""


class Item(BaseModel):
    """One ranked item."""

    item_id: str
    score: float
    score10: float
    reason: str
    exploration: bool = False
    """Placed by exploration: a young product with few interactions (reason `exploration`)."""


class RecommendResponse(BaseModel):
    """A ranked list, where it came from and an id to echo back with events."""

    items: list[Item]
    source: str
    model_version: str
    recommendation_id: str
    experiment: str | None = None
    variant: str | None = None


def dump(model: BaseModel) -> dict[str, Any]:
    """JSON-ready dict of a response model."""
    return model.model_dump(mode="json")
