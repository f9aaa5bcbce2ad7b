# SPDX-License-Identifier: Apache-2.0
"""The AWS Personalize runtime + events APIs (rest-json) over RecService, so unchanged boto3 works.

    boto3.client("personalize-runtime", endpoint_url="http://host:8000")   # or .../<prefix>
    boto3.client("personalize-events", endpoint_url="http://host:8000")

Wire details: `shared/design/personalize-compat.md` §3–§6. Every response carries
`x-amzn-RequestId`; errors carry `x-amzn-ErrorType` and `{"__type", "message"}` so botocore
raises its own exception classes. Requests are SigV4-verified against `settings.sigv4_keys`.
Filters: `settings.filters` maps a filterArn to an expression (`homerec/filters`),
evaluated per request against the live store; an unknown filterArn is ResourceNotFoundException,
bad filterValues are InvalidInputException.
"""

import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from homerec.errors import HomerecError, InputError, StoreError, UnknownItem, UnknownUser
from homerec.models.base import FALLBACK_REASON
from homerec.serving import deps, jsontext
from homerec.serving.body import MAX_BODY_BYTES
from homerec.serving import personalize_schemas as ps
from homerec.filters import BoundFilter, FilterError, bind, parse
from homerec.serving.service import Answer, NotReady, RecService
from homerec.serving.sigv4 import SigV4Error, verify
from homerec.serving.state import Loaded
from homerec.settings import Settings

log = logging.getLogger(__name__)

ACTIVE = "active"
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
Handler = Callable[[Request, Any], Awaitable[dict[str, Any]]]


class PersonalizeError(Exception):
    """An AWS-style error: status, `__type` code and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _invalid(message: str) -> PersonalizeError:
    return PersonalizeError(400, "InvalidInputException", message)


def _not_found(message: str) -> PersonalizeError:
    return PersonalizeError(404, "ResourceNotFoundException", message)


def _error_response(err: PersonalizeError, request_id: str) -> Response:
    headers = {"x-amzn-RequestId": request_id, "x-amzn-ErrorType": err.code}
    return JSONResponse({"__type": err.code, "message": err.message}, status_code=err.status, headers=headers)


# -- authentication, body, resources ---------------------------------------------------------
def _authenticate(request: Request, settings: Settings, body: bytes) -> None:
    """SigV4 when an Authorization header is sent; unsigned only in unsigned mode."""
    if "authorization" not in request.headers:
        if settings.personalize_unsigned:
            return
        if not settings.sigv4_keys:
            raise PersonalizeError(403, "MissingAuthenticationTokenException",
                                   "the Personalize API is disabled: configure HOMEREC_SIGV4_KEYS "
                                   "(or HOMEREC_PERSONALIZE_UNSIGNED=true on a trusted network)")
    if not settings.sigv4_keys:
        raise PersonalizeError(403, "UnrecognizedClientException",
                               "no SigV4 access keys are configured on this server (HOMEREC_SIGV4_KEYS)")
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    try:
        verify(request.method, raw_path.decode("latin-1"), request.scope.get("query_string", b"").decode("latin-1"),
               request.headers, body, settings.sigv4_keys)
    except SigV4Error as err:
        raise PersonalizeError(err.status, err.code, err.message) from None


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PersonalizeError(413, "InvalidInputException", f"body larger than {MAX_BODY_BYTES} bytes")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise PersonalizeError(413, "InvalidInputException", f"body larger than {MAX_BODY_BYTES} bytes")
    return body


def _parse(model: type[BaseModel], body: bytes) -> Any:
    try:
        data = jsontext.loads(body) if body else {}
    except ValueError as err:  # bad JSON or UTF-8, NaN/Infinity, 1e400, nested too deep, a lone surrogate
        raise PersonalizeError(400, "SerializationException", f"body is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise PersonalizeError(400, "SerializationException", "body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise _invalid(deps.validation_message(err)) from None


def _resolve(settings: Settings, name: str, what: str) -> str:
    """The model (`active` or a version) an ARN / trackingId maps to.

    With no `campaigns` configured, every well-formed ARN (checked by the schemas) and any
    trackingId is accepted and served by the active model: a zero-config migration path.
    """
    if not settings.campaigns:
        return ACTIVE
    model = settings.campaigns.get(name)
    if model is None:
        raise _not_found(f"{what} {name} not found")
    return model


def _filter(settings: Settings, filter_arn: str | None, values: dict[str, str] | None) -> BoundFilter | None:
    """The configured filter expression of an ARN with its filterValues filled in (None: no filter)."""
    if filter_arn is None:
        return None
    expression = settings.filters.get(filter_arn)
    if expression is None:
        raise _not_found(f"filter {filter_arn} not found")
    try:
        return bind(parse(expression), values)
    except FilterError as err:
        raise _invalid(str(err)) from None


async def _service_for(request: Request, model: str, arn: str) -> RecService:
    """The shared service for `active`, else one pinned to that model version (loaded once)."""
    svc = deps.service(request)
    current = svc.holder.current
    if model == ACTIVE or (current is not None and current.version == model):
        return svc
    pinned: dict[str, RecService] = request.app.state.__dict__.setdefault("_personalize_pinned", {})
    if model not in pinned:
        try:
            loaded = await run_in_threadpool(_load_version, svc, model)
        except HomerecError as err:
            raise _not_found(f"{arn} maps to model version {model}, which cannot be loaded: {err}") from None
        pinned[model] = RecService(svc.store, _Pinned(loaded))
    return pinned[model]


class _Pinned:
    """A ModelHolder stand-in that always serves one loaded version."""

    def __init__(self, loaded: Loaded) -> None:
        self.current, self.last_error = loaded, None


def _load_version(svc: RecService, version: str) -> Loaded:
    registry = svc.holder.registry
    info, model = registry.info(version), registry.load(version)
    ts = info.meta.get("trained_until")
    return Loaded(version, model, int(ts) if ts is not None else None)


def _items(answer: Answer) -> list[dict[str, Any]]:
    out = []
    for r in answer.items:
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
        raise _invalid(f"{arn} is a {last} dataset, not {kind}")


# -- operations --------------------------------------------------------------------------------
async def get_recommendations(request: Request, body: bytes) -> dict[str, Any]:
    req: ps.GetRecommendations = _parse(ps.GetRecommendations, body)
    settings = deps.settings(request)
    if (req.campaignArn is None) == (req.recommenderArn is None):
        raise _invalid("give exactly one of campaignArn and recommenderArn")
    arn = req.campaignArn or req.recommenderArn or ""
    model = _resolve(settings, arn, "campaign" if req.campaignArn else "recommender")
    if req.userId is None and req.itemId is None:
        raise _invalid("give userId (user recommendations) or itemId (related items)")
    item_filter = _filter(settings, req.filterArn, req.filterValues)
    for promotion in req.promotions or ():
        if promotion.filterArn is not None and _filter(settings, promotion.filterArn, promotion.filterValues):
            raise _invalid("promotions are not supported yet")
    if req.metadataColumns:
        raise _invalid(f"{arn} was not created with metadata in recommendations (metadataColumns)")
    svc = await _service_for(request, model, arn)
    if req.itemId is not None:
        answer = await run_in_threadpool(_similar, svc, req.itemId, req.numResults, item_filter, req.userId)
        endpoint = "personalize_similar"
    else:
        answer = await run_in_threadpool(svc.recommend, req.userId, req.numResults, (), None, item_filter)
        endpoint = "personalize_recommendations"
    deps.metrics(request).answers.labels(endpoint, answer.source).inc()
    return {"itemList": _items(answer), "recommendationId": answer.recommendation_id}


def _similar(svc: RecService, item_id: str, k: int, item_filter: BoundFilter | None = None,
             user_id: str | None = None) -> Answer:
    """Related items; an item the model does not know gets popular items (as Personalize's SIMS)."""
    try:
        return svc.similar(item_id, k, item_filter=item_filter, user_id=user_id)
    except UnknownItem:
        loaded = svc.loaded()
        banned = {item_id} | (svc.filtered_out(loaded, item_filter, user_id) if item_filter is not None else set())
        recs = loaded.model.recommend(None, k, exclude=banned, history=None)
        return Answer(recs, "fallback", loaded.version)


async def get_personalized_ranking(request: Request, body: bytes) -> dict[str, Any]:
    req: ps.GetPersonalizedRanking = _parse(ps.GetPersonalizedRanking, body)
    settings = deps.settings(request)
    model = _resolve(settings, req.campaignArn, "campaign")
    item_filter = _filter(settings, req.filterArn, req.filterValues)
    if req.metadataColumns:
        raise _invalid(f"{req.campaignArn} was not created with metadata in recommendations (metadataColumns)")
    svc = await _service_for(request, model, req.campaignArn)
    answer = await run_in_threadpool(svc.rank, req.userId, req.inputList, item_filter)
    deps.metrics(request).answers.labels("personalize_ranking", answer.source).inc()
    return {"personalizedRanking": _items(answer), "recommendationId": answer.recommendation_id}


async def put_events(request: Request, body: bytes) -> dict[str, Any]:
    req: ps.PutEvents = _parse(ps.PutEvents, body)
    _resolve(deps.settings(request), req.trackingId, "event tracker")
    # An anonymous session's events belong to the sessionId (clients then ask with it as userId).
    user_id = req.userId or req.sessionId
    # Events without an itemId (page views, searches) have no interaction to store.
    events = [
        {"user_id": user_id, "item_id": e.itemId, "event_type": e.eventType, "timestamp": int(e.sentAt),
         "event_value": None if e.eventValue is None else float(e.eventValue), "event_id": e.eventId,
         "recommendation_id": e.recommendationId}
        for e in req.eventList if e.itemId is not None
    ]
    if events:
        result = await run_in_threadpool(deps.service(request).add_events, events)
        m = deps.metrics(request)
        m.events.inc(result.inserted)
        m.duplicates.inc(result.duplicates)
    return {}


async def put_items(request: Request, body: bytes) -> dict[str, Any]:
    req: ps.PutItems = _parse(ps.PutItems, body)
    _resolve(deps.settings(request), req.datasetArn, "dataset")
    _check_dataset(req.datasetArn, "ITEMS")
    svc = deps.service(request)
    for item in req.items:
        await run_in_threadpool(svc.upsert_item, item.itemId, _metadata(item.properties, "item"))
    return {}


async def put_users(request: Request, body: bytes) -> dict[str, Any]:
    req: ps.PutUsers = _parse(ps.PutUsers, body)
    _resolve(deps.settings(request), req.datasetArn, "dataset")
    _check_dataset(req.datasetArn, "USERS")
    svc = deps.service(request)
    for user in req.users:
        await run_in_threadpool(svc.upsert_user, user.userId, _metadata(user.properties, "user"))
    return {}


def _endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Authentication, body limits and AWS error mapping around one operation."""

    async def endpoint(request: Request) -> Response:
        request_id = str(uuid.uuid4())
        try:
            body = await _read_body(request)
            _authenticate(request, deps.settings(request), body)
            result = await handler(request, body)
            return JSONResponse(result, headers={"x-amzn-RequestId": request_id})
        except PersonalizeError as err:
            return _error_response(err, request_id)
        except (UnknownUser, UnknownItem) as err:
            return _error_response(_not_found(str(err)), request_id)
        except (InputError, ValueError) as err:
            return _error_response(_invalid(str(err)), request_id)
        except (NotReady, StoreError, HomerecError) as err:
            message = deps.unavailable(err, f"Personalize {request.url.path}")
            return _error_response(PersonalizeError(503, "ServiceUnavailable", message), request_id)
        except Exception:
            log.exception("Personalize %s failed", request.url.path)
            return _error_response(PersonalizeError(500, "InternalFailure", "internal error"), request_id)

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
