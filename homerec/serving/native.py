# SPDX-License-Identifier: Apache-2.0
"""The native /v1 API and the operational routes: each a translation between HTTP and a `Request`.

    GET /v1/users/{user_id}/recommendations → recommendations() → Request(USER, …)
    GET /v1/placements/{name}/users/{user_id} → placement() → the placement's Request (`placements`) → the same
    POST /v1/baskets/recommendations → basket() → Request(BASKET, item_ids=cart, …) → the same
        → router.answer(router, req) → Router.cached(req) | Router.scored(req) on a thread → Answer → JSON
    GET /v1/segments/items/{item_id}, POST /v1/segments → the active version's segment model (`segments`)
        → {"users": [...]} or a user_id,score CSV
"""

import csv
import io

from typing import Any

import orjson
from pydantic import TypeAdapter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request as HttpRequest
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from homerec.errors import InputError
from homerec.filters import BoundFilter, bind, parse
from homerec.serving import deps, exploration, jsontext, openapi
from homerec.serving.schemas import (
    BasketRequest,
    EventsRequest,
    EventsResponse,
    Metadata,
    PlacementQuery,
    RankRequest,
    RecommendQuery,
    SegmentFormat,
    SegmentQuery,
    SegmentRequest,
    SimilarQuery,
    dump,
)
from homerec.serving.placements import placement_request
from homerec.serving.request import ACCOUNT, BASKET, RANK, SIMILAR, USER, Answer, Request
from homerec.serving.router import answer

_metadata = TypeAdapter(Metadata)


def _json(request: HttpRequest, endpoint: str, found: Answer) -> Response:
    """The `RecommendResponse` shape, built as a plain dict and encoded by orjson (the hottest path of the API)."""
    deps.metrics(request).answered(endpoint, found.source)
    return Response(orjson.dumps({
        "items": [{"item_id": r.item_id, "score": r.score, "score10": r.score10, "reason": r.reason,
                   "exploration": r.exploration} for r in found.items],
        "source": found.source, "model_version": found.model_version,
        "recommendation_id": found.recommendation_id, "experiment": found.experiment, "variant": found.variant,
    }), media_type="application/json")


async def recommendations(request: HttpRequest) -> Response:
    """GET /v1/users/{user_id}/recommendations?num_results=&min_score=&exclude=a,b&filter=&filter_values=&include_seen="""
    q = deps.query(RecommendQuery, request)
    req = Request(USER, user_id=deps.path_id(request, "user_id"), k=q.num_results, exclude=frozenset(q.exclude),
                  min_score=q.min_score, item_filter=_filter(request, q), include_seen=q.include_seen,
                  buy_again=q.include_seen, exploration=exploration.from_settings(settings := deps.settings(request)),
                  account_pooling=settings.account_pooling)
    return _json(request, "recommendations", await answer(deps.router(request), req))


async def placement(request: HttpRequest) -> Response:
    """GET /v1/placements/{name}/users/{user_id}?num_results=&min_score=&exclude=a,b (404: no such placement)"""
    name = request.path_params["name"]
    user_id = deps.path_id(request, "user_id")
    q = deps.query(PlacementQuery, request)
    req = placement_request(deps.placements(request), name, user_id, q.num_results or 0, deps.settings(request).k)
    req = req._replace(exclude=frozenset(q.exclude), min_score=q.min_score)
    return _json(request, "placement", await answer(deps.router(request), req))


async def account_recommendations(request: HttpRequest) -> Response:
    """GET /v1/accounts/{account_id}/recommendations?…: the list of a bill-to account, from its buyers' pooled events."""
    q = deps.query(RecommendQuery, request)
    req = Request(ACCOUNT, account_id=deps.path_id(request, "account_id"), k=q.num_results,
                  exclude=frozenset(q.exclude), min_score=q.min_score, item_filter=_filter(request, q),
                  include_seen=q.include_seen, exploration=exploration.from_settings(deps.settings(request)))
    return _json(request, "account_recommendations", await answer(deps.router(request), req))


def _filter(request: HttpRequest, q: RecommendQuery) -> BoundFilter | None:
    """`filter=<expression>` or `filter_name=<configured name>`, with `filter_values=<JSON object>`."""
    if q.filter is not None and q.filter_name is not None:
        raise InputError("give filter or filter_name, not both")
    expression = q.filter
    if q.filter_name is not None:
        expression = deps.settings(request).filters.get(q.filter_name)
        if expression is None:
            raise InputError(f"filter_name {q.filter_name!r} is not configured")
    values: dict[str, Any] = {}
    if q.filter_values is not None:
        try:
            values = jsontext.loads(q.filter_values)
        except ValueError as err:
            raise InputError(f"filter_values is not valid JSON: {err}") from None
        if not isinstance(values, dict) or not all(
            isinstance(v, (str, int, float, list)) and not isinstance(v, bool) for v in values.values()
        ):
            raise InputError("filter_values must be a JSON object of name → string (or list of values)")
        if len(values) > 25:
            raise InputError("filter_values holds more than 25 values")
    if expression is None:
        if values:
            raise InputError("filter_values given without filter or filter_name")
        return None
    return bind(parse(expression), values)


async def similar(request: HttpRequest) -> Response:
    """GET /v1/items/{item_id}/similar?num_results=&exclude="""
    q = deps.query(SimilarQuery, request)
    req = Request(SIMILAR, item_id=deps.path_id(request, "item_id"), k=q.num_results, exclude=frozenset(q.exclude))
    return _json(request, "similar", await answer(deps.router(request), req))


async def ranking(request: HttpRequest) -> Response:
    """POST /v1/users/{user_id}/ranking {"item_ids": [...], "context": {...}}"""
    user_id = deps.path_id(request, "user_id")
    body = deps.parse(RankRequest, await deps.json_body(request))
    req = Request(RANK, user_id=user_id, item_ids=tuple(body.item_ids), k=len(body.item_ids),
                  context={k: str(v) for k, v in (body.context or {}).items()})
    return _json(request, "ranking", await answer(deps.router(request), req))


async def basket(request: HttpRequest) -> Response:
    """POST /v1/baskets/recommendations {"items": [cart ids], "user_id": optional, "num_results": 1-100}"""
    body = deps.parse(BasketRequest, await deps.json_body(request))
    req = Request(BASKET, user_id=body.user_id, item_ids=tuple(dict.fromkeys(body.items)), k=body.num_results,
                  exclude=frozenset(body.exclude))
    return _json(request, "basket", await answer(deps.router(request), req))


async def segment_item(request: HttpRequest) -> Response:
    """GET /v1/segments/items/{item_id}?k=&include_buyers=&format=csv: the customers likeliest to buy the item"""
    item_id = deps.path_id(request, "item_id")
    q = deps.query(SegmentQuery, request, lists=())
    found = await run_in_threadpool(deps.segments(request).for_item, item_id, q.k, q.include_buyers)
    return _segment(request, q.format, *found)


async def segment_attribute(request: HttpRequest) -> Response:
    """POST /v1/segments {"attribute": "Items.CATEGORY IN (\"Gloves\")", "k": 100}: likeliest buyers of any match"""
    q = deps.query(SegmentFormat, request, lists=())
    body = deps.parse(SegmentRequest, await deps.json_body(request))
    found = await run_in_threadpool(deps.segments(request).for_attribute, body.attribute, body.k, body.include_buyers)
    return _segment(request, q.format, *found)


def _segment(request: HttpRequest, fmt: str | None, version: str, users: list[tuple[str, float]]) -> Response:
    """A segment as JSON, or as a `user_id,score` CSV download (`format=csv` or `Accept: text/csv`)."""
    deps.metrics(request).answered("segment", "model")
    if fmt == "csv" or (fmt is None and "text/csv" in request.headers.get("accept", "")):
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["user_id", "score"])
        writer.writerows(users)
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
            "content-disposition": 'attachment; filename="segment.csv"', "x-model-version": version})
    return Response(orjson.dumps({"users": [{"user_id": u, "score": s} for u, s in users], "model_version": version}),
                    media_type="application/json")


async def events(request: HttpRequest) -> Response:
    """POST /v1/events {"events": [...]}: committed before the answer goes out."""
    body = deps.parse(EventsRequest, await deps.json_body(request))
    result = await run_in_threadpool(deps.writes(request).add_events, [e.model_dump() for e in body.events])
    m = deps.metrics(request)
    m.events.inc(result.inserted)
    m.duplicates.inc(result.duplicates)
    return JSONResponse(dump(EventsResponse(accepted=result.inserted, duplicates=result.duplicates)))


async def put_item(request: HttpRequest) -> Response:
    """PUT /v1/items/{item_id} {field: value, ...}"""
    item_id = deps.path_id(request, "item_id")
    meta = deps.parse_as(_metadata, await deps.json_body(request))
    changed = await run_in_threadpool(deps.writes(request).upsert_item, item_id, meta)
    return JSONResponse({"item_id": item_id, "changed": bool(changed)})


async def put_user(request: HttpRequest) -> Response:
    """PUT /v1/users/{user_id} {field: value, ...}"""
    user_id = deps.path_id(request, "user_id")
    meta = deps.parse_as(_metadata, await deps.json_body(request))
    changed = await run_in_threadpool(deps.writes(request).upsert_user, user_id, meta)
    return JSONResponse({"user_id": user_id, "changed": bool(changed)})


async def delete_user(request: HttpRequest) -> Response:
    """DELETE /v1/users/{user_id}: events, user row and cached lists; says what went."""
    user_id = deps.path_id(request, "user_id")
    removed = await run_in_threadpool(deps.writes(request).delete_user, user_id)
    return JSONResponse({"user_id": user_id, "removed": removed})


async def reload(request: HttpRequest) -> Response:
    """POST /v1/admin/reload: load the registry's active version and swap it in."""
    held = deps.versions(request)
    before = held.current.version if held.current else None
    changed = await run_in_threadpool(held.refresh, before is None or _force(request))
    after = held.current.version if held.current else None
    if changed:
        deps.metrics(request).reloads.inc()
    return JSONResponse({"model_version": after, "previous": before, "changed": before != after})


def _force(request: HttpRequest) -> bool:
    return request.query_params.get("force", "").lower() in ("1", "true", "yes")


async def healthz(request: HttpRequest) -> Response:
    """GET /healthz: the process answers."""
    return JSONResponse({"status": "ok"})


async def readyz(request: HttpRequest) -> Response:
    """GET /readyz: 200 when a model is loaded and the store answers, else 503."""
    ok, why = await run_in_threadpool(deps.service(request).ready)
    current = deps.versions(request).current
    version = current.version if current else None
    return JSONResponse({"status": "ok" if ok else "unavailable", "detail": why, "model_version": version},
                        status_code=200 if ok else 503)


async def metrics(request: HttpRequest) -> Response:
    """GET /metrics in the Prometheus text format."""
    m = deps.metrics(request)
    current = deps.versions(request).current
    m.set_version(current.version if current else None)
    return Response(m.render(), media_type="text/plain; version=0.0.4; charset=utf-8")


ROUTES = [  # the router tries them in order: the hottest route first
    Route("/v1/users/{user_id}/recommendations", recommendations, methods=["GET"]),
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
    Route("/openapi.json", openapi.openapi_json, methods=["GET"]),
    Route("/docs", openapi.docs, methods=["GET"]),
    Route("/v1/items/{item_id}/similar", similar, methods=["GET"]),
    Route("/v1/placements/{name}/users/{user_id}", placement, methods=["GET"]),
    Route("/v1/accounts/{account_id}/recommendations", account_recommendations, methods=["GET"]),
    Route("/v1/users/{user_id}/ranking", ranking, methods=["POST"]),
    Route("/v1/baskets/recommendations", basket, methods=["POST"]),
    Route("/v1/segments/items/{item_id}", segment_item, methods=["GET"]),
    Route("/v1/segments", segment_attribute, methods=["POST"]),
    Route("/v1/events", events, methods=["POST"]),
    Route("/v1/items/{item_id}", put_item, methods=["PUT"]),
    Route("/v1/users/{user_id}", put_user, methods=["PUT"]),
    Route("/v1/users/{user_id}", delete_user, methods=["DELETE"]),
    Route("/v1/admin/reload", reload, methods=["POST"]),
]
