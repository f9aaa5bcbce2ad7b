# SPDX-License-Identifier: Apache-2.0
"""The native /v1 API and the operational routes: thin translations over RecService."""

from typing import Any

from pydantic import TypeAdapter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from homerec.errors import InputError
from homerec.filters import BoundFilter, bind, parse
from homerec.serving import deps, jsontext, openapi
from homerec.serving.schemas import (
    EventsRequest,
    EventsResponse,
    Metadata,
    RankRequest,
    RecommendQuery,
    SimilarQuery,
    dump,
)
from homerec.serving.service import Answer

_metadata = TypeAdapter(Metadata)


def _answer(request: Request, endpoint: str, answer: Answer) -> JSONResponse:
    """The `RecommendResponse` shape, built as a plain dict (this is the hottest path of the API)."""
    deps.metrics(request).answers.labels(endpoint, answer.source).inc()
    return JSONResponse({
        "items": [{"item_id": r.item_id, "score": r.score, "score10": r.score10, "reason": r.reason}
                  for r in answer.items],
        "source": answer.source, "model_version": answer.model_version,
        "recommendation_id": answer.recommendation_id, "experiment": answer.experiment, "variant": answer.variant,
    })


async def recommendations(request: Request) -> Response:
    """GET /v1/users/{user_id}/recommendations?num_results=&min_score=&exclude=a,b&filter=&filter_values="""
    q = deps.parse(RecommendQuery, deps.query_params(request, lists=("exclude",)))
    user_id = deps.path_id(request, "user_id")
    item_filter = _filter(request, q)
    svc = deps.service(request)
    # A cache hit costs two point reads: answered here, without the hop to a worker thread.
    answer = None if item_filter is not None else svc.recommend(
        user_id, q.num_results, q.exclude, q.min_score, None, cache_only=True)
    if answer is None:
        answer = await run_in_threadpool(svc.recommend, user_id, q.num_results, q.exclude, q.min_score, item_filter)
    return _answer(request, "recommendations", answer)


def _filter(request: Request, q: RecommendQuery) -> BoundFilter | None:
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


async def similar(request: Request) -> Response:
    """GET /v1/items/{item_id}/similar?num_results=&exclude="""
    q = deps.parse(SimilarQuery, deps.query_params(request, lists=("exclude",)))
    answer = await run_in_threadpool(deps.service(request).similar, deps.path_id(request, "item_id"), q.num_results,
                                     q.exclude)
    return _answer(request, "similar", answer)


async def ranking(request: Request) -> Response:
    """POST /v1/users/{user_id}/ranking {"item_ids": [...], "context": {...}}"""
    user_id = deps.path_id(request, "user_id")
    body = deps.parse(RankRequest, await deps.json_body(request))
    answer = await run_in_threadpool(deps.service(request).rank, user_id, body.item_ids)
    return _answer(request, "ranking", answer)


async def events(request: Request) -> Response:
    """POST /v1/events {"events": [...]}: committed before the answer goes out."""
    body = deps.parse(EventsRequest, await deps.json_body(request))
    result = await run_in_threadpool(deps.service(request).add_events, [e.model_dump() for e in body.events])
    m = deps.metrics(request)
    m.events.inc(result.inserted)
    m.duplicates.inc(result.duplicates)
    return JSONResponse(dump(EventsResponse(accepted=result.inserted, duplicates=result.duplicates)))


async def put_item(request: Request) -> Response:
    """PUT /v1/items/{item_id} {field: value, ...}"""
    item_id = deps.path_id(request, "item_id")
    meta = deps.parse_as(_metadata, await deps.json_body(request))
    changed = await run_in_threadpool(deps.service(request).upsert_item, item_id, meta)
    return JSONResponse({"item_id": item_id, "changed": bool(changed)})


async def put_user(request: Request) -> Response:
    """PUT /v1/users/{user_id} {field: value, ...}"""
    user_id = deps.path_id(request, "user_id")
    meta = deps.parse_as(_metadata, await deps.json_body(request))
    changed = await run_in_threadpool(deps.service(request).upsert_user, user_id, meta)
    return JSONResponse({"user_id": user_id, "changed": bool(changed)})


async def delete_user(request: Request) -> Response:
    """DELETE /v1/users/{user_id}: events, user row and cached lists; says what went."""
    user_id = deps.path_id(request, "user_id")
    removed = await run_in_threadpool(deps.service(request).delete_user, user_id)
    return JSONResponse({"user_id": user_id, "removed": removed})


async def reload(request: Request) -> Response:
    """POST /v1/admin/reload: load the registry's active version and swap it in."""
    svc = deps.service(request)
    before = svc.holder.current.version if svc.holder.current else None
    changed = await run_in_threadpool(svc.holder.refresh, before is None or _force(request))
    after = svc.holder.current.version if svc.holder.current else None
    if changed:
        deps.metrics(request).reloads.inc()
    return JSONResponse({"model_version": after, "previous": before, "changed": before != after})


def _force(request: Request) -> bool:
    return request.query_params.get("force", "").lower() in ("1", "true", "yes")


async def healthz(request: Request) -> Response:
    """GET /healthz: the process answers."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """GET /readyz: 200 when a model is loaded and the store answers, else 503."""
    svc = deps.service(request)
    ok, why = await run_in_threadpool(svc.ready)
    version = svc.holder.current.version if svc.holder.current else None
    return JSONResponse({"status": "ok" if ok else "unavailable", "detail": why, "model_version": version},
                        status_code=200 if ok else 503)


async def metrics(request: Request) -> Response:
    """GET /metrics in the Prometheus text format."""
    m = deps.metrics(request)
    current = deps.service(request).holder.current
    m.set_version(current.version if current else None)
    return Response(m.render(), media_type="text/plain; version=0.0.4; charset=utf-8")


ROUTES = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
    Route("/openapi.json", openapi.openapi_json, methods=["GET"]),
    Route("/docs", openapi.docs, methods=["GET"]),
    Route("/v1/users/{user_id}/recommendations", recommendations, methods=["GET"]),
    Route("/v1/items/{item_id}/similar", similar, methods=["GET"]),
    Route("/v1/users/{user_id}/ranking", ranking, methods=["POST"]),
    Route("/v1/events", events, methods=["POST"]),
    Route("/v1/items/{item_id}", put_item, methods=["PUT"]),
    Route("/v1/users/{user_id}", put_user, methods=["PUT"]),
    Route("/v1/users/{user_id}", delete_user, methods=["DELETE"]),
    Route("/v1/admin/reload", reload, methods=["POST"]),
]
