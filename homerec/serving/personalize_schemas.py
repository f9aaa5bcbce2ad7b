# SPDX-License-Identifier: Apache-2.0
"""Request bodies of the AWS Personalize runtime/events APIs (camelCase, personalize-compat.md §4).

Every max length, list size and pattern is checked here: botocore checks only minimums.
Unknown members are ignored (newer SDKs may send fields this server does not know).
"""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator

from homerec.data.rules import id_problem
from homerec.data.schema import RECOMMENDATION_ID_MAX
from homerec.serving import jsontext
from homerec.serving.fields import Finite, Id, Label

MAX_RESULTS = 500
MAX_RESULTS_WITH_METADATA = 50
DEFAULT_RESULTS = 25
MAX_ACTION_RESULTS = 100
ARN_PATTERN = r"^arn:([a-z\d-]+):personalize:.*:.*:.+$"
RESERVED_EVENT_PROPERTIES = {"userid", "sessionid", "eventtype", "timestamp", "recommendationid", "impression"}

Arn = Annotated[StrictStr, Field(max_length=256, pattern=ARN_PATTERN)]
Number = Finite
ContextKey = Annotated[StrictStr, Field(min_length=1, max_length=150, pattern=r"^[A-Za-z\d_]+$")]
FilterKey = Annotated[StrictStr, Field(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9_]+$")]
Value1000 = Annotated[StrictStr, Field(max_length=1000)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=False)


def parse_properties(text: str | None, what: str) -> dict[str, Any]:
    """A `properties` JSON-in-string → dict; ValueError unless it is a JSON object."""
    if text is None:
        return {}
    try:
        value = jsontext.loads(text)
    except ValueError as err:  # bad JSON, NaN, 1e400, nested too deep, a lone surrogate
        raise ValueError(f"{what}.properties is not valid JSON: {err}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{what}.properties must be a JSON object")
    for key, val in value.items():
        if (problem := id_problem(key)) is not None:
            raise ValueError(f"{what}.properties: a key {problem}")
        if isinstance(val, dict) or (isinstance(val, list) and any(isinstance(v, (dict, list)) for v in val)):
            raise ValueError(f"{what}.properties.{key}: values must be strings, numbers, booleans or flat lists")
    return value


Columns = dict[Annotated[StrictStr, Field(min_length=1, max_length=256)],
               Annotated[list[Annotated[StrictStr, Field(min_length=1, max_length=150)]], Field(max_length=99)]]
"""metadataColumns: dataset type (ITEMS) → column names (the model allows 99 per type)."""


class Promotion(_Body):
    name: Annotated[StrictStr, Field(min_length=1, max_length=63, pattern=r"^[a-zA-Z0-9][a-zA-Z0-9\-_]*$")] | None = None
    percentPromotedItems: StrictInt | None = Field(None, ge=1, le=100)
    filterArn: Arn | None = None
    filterValues: dict[FilterKey, Value1000] | None = Field(None, max_length=25)


class GetRecommendations(_Body):
    campaignArn: Arn | None = None
    recommenderArn: Arn | None = None
    itemId: Id | None = None
    userId: Id | None = None
    numResults: StrictInt = Field(DEFAULT_RESULTS, ge=0, le=MAX_RESULTS)
    context: dict[ContextKey, Value1000] | None = Field(None, max_length=150)
    filterArn: Arn | None = None
    filterValues: dict[FilterKey, Value1000] | None = Field(None, max_length=25)
    promotions: list[Promotion] | None = Field(None, max_length=1)
    metadataColumns: Columns | None = Field(None, max_length=1)


class GetPersonalizedRanking(_Body):
    campaignArn: Arn
    inputList: list[Id] = Field(min_length=1, max_length=MAX_RESULTS)
    userId: Id
    context: dict[ContextKey, Value1000] | None = Field(None, max_length=150)
    filterArn: Arn | None = None
    filterValues: dict[FilterKey, Value1000] | None = Field(None, max_length=25)
    metadataColumns: Columns | None = Field(None, max_length=1)


class GetActionRecommendations(_Body):
    campaignArn: Arn | None = None
    userId: Id | None = None
    numResults: StrictInt = Field(5, ge=0, le=MAX_ACTION_RESULTS)
    filterArn: Arn | None = None
    filterValues: dict[FilterKey, Value1000] | None = Field(None, max_length=25)


class MetricAttribution(_Body):
    eventAttributionSource: Annotated[StrictStr, Field(min_length=1, max_length=1024,
                                                       pattern=r"^[\x20-\x7E]*[\x21-\x7E]+[\x20-\x7E]*$")]


class Event(_Body):
    eventType: Id
    sentAt: Number = Field(ge=0, le=4_102_444_800)  # epoch seconds, before 2100
    eventId: Id | None = None
    itemId: Id | None = None
    eventValue: Number | None = None
    properties: Annotated[StrictStr, Field(min_length=1, max_length=1024)] | None = None
    recommendationId: Label(RECOMMENDATION_ID_MAX) | None = None  # type: ignore[valid-type]
    impression: list[Id] | None = Field(None, min_length=1, max_length=25)
    metricAttribution: MetricAttribution | None = None

    @field_validator("properties")
    @classmethod
    def _props(cls, value: str | None) -> str | None:
        props = parse_properties(value, "event")
        bad = [k for k in props if k.lower() in RESERVED_EVENT_PROPERTIES]
        if bad:
            raise ValueError(f"event.properties may not use the reserved keys {', '.join(bad)}")
        return value


class PutEvents(_Body):
    trackingId: Id
    userId: Id | None = None
    sessionId: Id
    eventList: list[Event] = Field(min_length=1, max_length=10)


class ItemRecord(_Body):
    itemId: Id
    properties: Annotated[StrictStr, Field(min_length=1, max_length=32000)] | None = None

    @field_validator("properties")
    @classmethod
    def _props(cls, value: str | None) -> str | None:
        parse_properties(value, "item")
        return value


class UserRecord(_Body):
    userId: Id
    properties: Annotated[StrictStr, Field(min_length=1, max_length=24000)] | None = None

    @field_validator("properties")
    @classmethod
    def _props(cls, value: str | None) -> str | None:
        parse_properties(value, "user")
        return value


class PutItems(_Body):
    datasetArn: Arn
    items: list[ItemRecord] = Field(min_length=1, max_length=10)


class PutUsers(_Body):
    datasetArn: Arn
    users: list[UserRecord] = Field(min_length=1, max_length=10)


class ActionRecord(_Body):
    actionId: Id
    properties: Annotated[StrictStr, Field(min_length=1, max_length=32000)] | None = None


class PutActions(_Body):
    datasetArn: Arn
    actions: list[ActionRecord] = Field(min_length=1, max_length=10)


class ActionInteraction(_Body):
    actionId: Id
    sessionId: Id
    timestamp: Number = Field(ge=0, le=4_102_444_800)
    eventType: Id
    userId: Id | None = None
    eventId: Id | None = None


class PutActionInteractions(_Body):
    trackingId: Id
    actionInteractions: list[ActionInteraction] = Field(min_length=1, max_length=10)
