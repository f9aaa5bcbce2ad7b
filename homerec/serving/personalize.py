# SPDX-License-Identifier: Apache-2.0
"""The AWS Personalize runtime + events APIs (rest-json): a translation between their wire shapes and a `Request`.

    boto3.client("personalize-runtime", endpoint_url="http://host:8000")   # or .../<prefix>
    boto3.client("personalize-events", endpoint_url="http://host:8000")

What this adapter does, and nothing else: verify SigV4 (`homerec.serving.sigv4`; the header
form is checked before the body by `homerec.serving.access`), map ARNs and trackingIds to model
versions (`settings.campaigns`) and filter ARNs to expressions (`settings.filters`), and turn
camelCase requests into `Request`s and `Answer`s back into Personalize's shapes. Reads go
through `router.answer` like the native routes', writes through `Writes`; errors follow
`homerec.serving.errors` (`x-amzn-ErrorType` and `{"__type", "message"}`, so botocore raises
its own exception classes). Wire details: `shared/design/personalize-compat.md` §3–§6.
"""

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request as HttpRequest
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from homerec.errors import HomerecError
from homerec.filters import BoundFilter, FilterError, bind, parse
from homerec.models.base import FALLBACK_REASON
from homerec.serving import deps, jsontext
from homerec.serving import personalize_schemas as ps
from homerec.serving.errors import ApiError, aws_response, classify, invalid, not_found
from homerec.serving.request import RANK, SIMILAR, USER, Answer, Request
from homerec.serving.router import answer
from homerec.serving.sigv4 import SigV4Error, verify
from homerec.serving.versions import ACTIVE
from homerec.settings import Settings

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
Handler = Callable[[HttpRequest, Any], Awaitable[dict[str, Any]]]


# -- authentication, body, resources ---------------------------------------------------------
def _authenticate(request: HttpRequest, settings: Settings, body: bytes) -> None:
    """The SigV4 signature, when one is sent (its header form was checked before the body)."""
    if "authorization" not in request.headers:
        return  # unsigned: only reaches here in unsigned mode (`access.Gate`)
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    try:
        verify(request.method, raw_path.decode("latin-1"), request.scope.get("query_string", b"").decode("latin-1"),
               request.headers, body, settings.sigv4_keys)
    except SigV4Error as err:
        raise ApiError(err.status, err.code, err.message) from None


def _parse(model: type[BaseModel], body: bytes) -> Any:
    try:
        data = jsontext.loads(body) if body else {}
    except ValueError as err:  # bad JSON or UTF-8, NaN/Infinity, 1e400, nested too deep, a lone surrogate
        raise ApiError(400, "SerializationException", f"body is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise ApiError(400, "SerializationException", "body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise invalid(deps.validation_message(err)) from None


def _resolve(settings: Settings, name: str, what: str) -> str:
    """The model (`active` or a version) an ARN / trackingId maps to.

    With no `campaigns` configured, every well-formed ARN (checked by the schemas) and any
    trackingId is accepted and served by the active model: a zero-config migration path.
    """
    if not settings.campaigns:
        return ACTIVE
    model = settings.campaigns.get(name)
    if model is None:
        raise not_found(f"{what} {name} not found")
    return model


async def _version(request: HttpRequest, arn: str, what: str) -> str | None:
    """The model version a campaign or recommender ARN answers with (None: the active one), loaded."""
    model = _resolve(deps.settings(request), arn, what)
    if model == ACTIVE:
        return None
    versions = deps.versions(request)
    if versions.get(model) is None:
        try:
            await run_in_threadpool(versions.load, model)
        except HomerecError as err:
            raise not_found(f"{arn} maps to model version {model}, which cannot be loaded: {err}") from None
    return model


def _filter(settings: Settings, filter_arn: str | None, values: dict[str, str] | None) -> BoundFilter | None:
    """The configured filter expression of an ARN with its filterValues filled in (None: no filter)."""
    if filter_arn is None:
        return None
    expression = settings.filters.get(filter_arn)
    if expression is None:
        raise not_found(f"filter {filter_arn} not found")
    try:
        return bind(parse(expression), values)
    except FilterError as err:
        raise invalid(str(err)) from None


def _items(found: Answer) -> list[dict[str, Any]]:
    out = []
    for r in found.items:
        item: dict[str, Any] = {"itemId": r.item_id, "score": float(r.score)}
        if r.reason == FALLBACK_REASON:
            item["reason"] = ["Popular item"]
        out.append(item)
    return out


def _column(key: str) -> str:
    """camelCase property → dataset column (`categoryL1` → CATEGORY_L1); UPPER_CASE stays."""
    return _CAMEL.sub("_", key).upper()


def _metadata(properties: str | None, what: str) -> dict[str, Any]:
    return {_column(k): v for k, v in ps.parse_properties(properties, what).items()}


def _check_dataset(arn: str, kind: str) -> None:
    last = arn.rsplit("/", 1)[-1]
    if last in ("ITEMS", "USERS", "INTERACTIONS", "ACTIONS") and last != kind:
        raise invalid(f"{arn} is a {last} dataset, not {kind}")


# -- operations --------------------------------------------------------------------------------
async def get_recommendations(request: HttpRequest, body: bytes) -> dict[str, Any]:
    """GetRecommendations: a user's list (userId), or related items (itemId)."""
    q: ps.GetRecommendations = _parse(ps.GetRecommendations, body)
    settings = deps.settings(request)
    if (q.campaignArn is None) == (q.recommenderArn is None):
        raise invalid("give exactly one of campaignArn and recommenderArn")
    arn = q.campaignArn or q.recommenderArn or ""
    version = await _version(request, arn, "campaign" if q.campaignArn else "recommender")
    if q.userId is None and q.itemId is None:
        raise invalid("give userId (user recommendations) or itemId (related items)")
    item_filter = _filter(settings, q.filterArn, q.filterValues)
    for promotion in q.promotions or ():
        if promotion.filterArn is not None and _filter(settings, promotion.filterArn, promotion.filterValues):
            raise invalid("promotions are not supported yet")
    if q.metadataColumns:
        raise invalid(f"{arn} was not created with metadata in recommendations (metadataColumns)")
    if q.itemId is not None:
        req = Request(SIMILAR, item_id=q.itemId, user_id=q.userId, k=q.numResults, item_filter=item_filter,
                      version=version, unknown_item="popular", context=q.context or {})
        endpoint = "personalize_similar"
    else:
        req = Request(USER, user_id=q.userId, k=q.numResults, item_filter=item_filter, version=version,
                      context=q.context or {})
        endpoint = "personalize_recommendations"
    found = await answer(deps.router(request), req)
    deps.metrics(request).answered(endpoint, found.source)
    return {"itemList": _items(found), "recommendationId": found.recommendation_id}


async def get_personalized_ranking(request: HttpRequest, body: bytes) -> dict[str, Any]:
    """GetPersonalizedRanking: the input list reordered for the user (unknown items last)."""
    q: ps.GetPersonalizedRanking = _parse(ps.GetPersonalizedRanking, body)
    settings = deps.settings(request)
    version = await _version(request, q.campaignArn, "campaign")
    item_filter = _filter(settings, q.filterArn, q.filterValues)
    if q.metadataColumns:
        raise invalid(f"{q.campaignArn} was not created with metadata in recommendations (metadataColumns)")
    req = Request(RANK, user_id=q.userId, item_ids=tuple(q.inputList), k=len(q.inputList), item_filter=item_filter,
                  version=version, context=q.context or {})
    found = await answer(deps.router(request), req)
    deps.metrics(request).answered("personalize_ranking", found.source)
    return {"personalizedRanking": _items(found), "recommendationId": found.recommendation_id}


async def put_events(request: HttpRequest, body: bytes) -> dict[str, Any]:
    """PutEvents: interactions of a user (or of an anonymous session)."""
    q: ps.PutEvents = _parse(ps.PutEvents, body)
    _resolve(deps.settings(request), q.trackingId, "event tracker")
    # An anonymous session's events belong to the sessionId (clients then ask with it as userId).
    user_id = q.userId or q.sessionId
    # Events without an itemId (page views, searches) have no interaction to store.
    events = [
        {"user_id": user_id, "item_id": e.itemId, "event_type": e.eventType, "timestamp": int(e.sentAt),
         "event_value": None if e.eventValue is None else float(e.eventValue), "event_id": e.eventId,
         "recommendation_id": e.recommendationId}
        for e in q.eventList if e.itemId is not None
    ]
    if events:
        result = await run_in_threadpool(deps.writes(request).add_events, events)
        m = deps.metrics(request)
        m.events.inc(result.inserted)
        m.duplicates.inc(result.duplicates)
    return {}


async def put_items(request: HttpRequest, body: bytes) -> dict[str, Any]:
    """PutItems: item metadata (recommendable at once)."""
    q: ps.PutItems = _parse(ps.PutItems, body)
    rows = [(item.itemId, _metadata(item.properties, "item")) for item in q.items]
    return await _put(request, q.datasetArn, "ITEMS", deps.writes(request).upsert_item, rows)


async def put_users(request: HttpRequest, body: bytes) -> dict[str, Any]:
    """PutUsers: user metadata."""
    q: ps.PutUsers = _parse(ps.PutUsers, body)
    rows = [(user.userId, _metadata(user.properties, "user")) for user in q.users]
    return await _put(request, q.datasetArn, "USERS", deps.writes(request).upsert_user, rows)


async def _put(request: HttpRequest, dataset_arn: str, kind: str, upsert: Callable[[str, dict[str, Any]], int],
               rows: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    _resolve(deps.settings(request), dataset_arn, "dataset")
    _check_dataset(dataset_arn, kind)
    for entity_id, metadata in rows:
        await run_in_threadpool(upsert, entity_id, metadata)
    return {}


def _endpoint(handler: Handler) -> Callable[[HttpRequest], Awaitable[Response]]:
    """The signature check and the AWS answer (or error) around one operation."""

    async def endpoint(request: HttpRequest) -> Response:
        request_id = str(uuid.uuid4())
        try:
            body = await request.body()  # already read, within its limits, by BodyMiddleware
            _authenticate(request, deps.settings(request), body)
            result = await handler(request, body)
            return JSONResponse(result, headers={"x-amzn-RequestId": request_id})
        except Exception as err:  # noqa: BLE001 - every failure gets its row of the error table
            return aws_response(classify(err, f"Personalize {request.url.path}", aws=True), request_id)

    endpoint.__name__ = handler.__name__
    return endpoint


OPERATIONS: dict[str, Handler] = {
    "/recommendations": get_recommendations,
    "/personalize-ranking": get_personalized_ranking,
    "/events": put_events,
    "/items": put_items,
    "/users": put_users,
}


def _prefixes(settings: Settings) -> list[str]:
    return [""] + ([settings.personalize_prefix] if settings.personalize_prefix else [])


def personalize_paths(settings: Settings) -> frozenset[str]:
    """The paths of the operations (see `personalize_routes`)."""
    return frozenset(prefix + path for prefix in _prefixes(settings) for path in OPERATIONS)


def personalize_routes(settings: Settings) -> list[Route]:
    """POST routes of the operations at `/` and, when set, under `settings.personalize_prefix`."""
    return [Route(prefix + path, _endpoint(handler), methods=["POST"])
            for prefix in _prefixes(settings) for path, handler in OPERATIONS.items()]
