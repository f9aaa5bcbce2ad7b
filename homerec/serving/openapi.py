# SPDX-License-Identifier: Apache-2.0
"""The OpenAPI 3.1 document of the running app (`GET /openapi.json`) and a docs page (`GET /docs`).

The document is built from the app's own route table, so no route can be missing from it: the
native routes get their parameters, bodies and answers from the pydantic schemas in
`homerec.serving.schemas` (`OPERATIONS` below); any other route (the Personalize adapter, ...)
is listed with its path, methods, path parameters and the first line of its handler's docstring.
The docs page is plain HTML generated from the document (no scripts, no CDN: the network may be closed).
"""

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, TypeAdapter
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from homerec import __version__
from homerec.data.rules import ID_PATTERN, MAX_ID_CHARS
from homerec.serving.schemas import (
    MAX_RESULTS,
    BasketRequest,
    EventsRequest,
    EventsResponse,
    Metadata,
    PlacementQuery,
    RankRequest,
    RecommendQuery,
    RecommendResponse,
    SegmentFormat,
    SegmentQuery,
    SegmentRequest,
    SegmentResponse,
    SimilarQuery,
)

REF = "#/components/schemas/{model}"
API_KEY_HEADER = "x-api-key"  # == deps.API_KEY_HEADER (deps imports the service; this module stays light)


@dataclass(frozen=True)
class Operation:
    """What the route table cannot tell about one native operation."""

    summary: str
    tag: str
    query: type[BaseModel] | None = None
    body: type[BaseModel] | str | None = None
    """A model, or the name of a schema in EXTRA_SCHEMAS."""
    response: type[BaseModel] | str | None = None
    write: bool = False
    read_auth: bool = False
    """A read route that needs the API key when `read_requires_key` is set."""
    private: bool = False
    """A read of customer data (segments) that needs the API key whenever keys are configured, as the dashboard's."""
    errors: tuple[int, ...] = ()
    list_params: tuple[str, ...] = field(default=("exclude",))
    media_type: str = "application/json"


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required or list(properties)}


_STR, _INT = {"type": "string"}, {"type": "integer"}
_NULLABLE_STR = {"anyOf": [_STR, {"type": "null"}]}
EXTRA_SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": _object({"error": {"type": "string", "description": "What was wrong with the request"}}),
    "Metadata": {**TypeAdapter(Metadata).json_schema(), "title": "Metadata",
                 "description": "Field → value; a list is a multi-valued field."},
    "ItemUpserted": _object({"item_id": _STR, "changed": {"type": "boolean"}}),
    "UserUpserted": _object({"user_id": _STR, "changed": {"type": "boolean"}}),
    "UserDeleted": _object({"user_id": _STR, "removed": {
        "type": "object", "additionalProperties": _INT, "description": "Rows removed per table"}}),
    "Reloaded": _object({"model_version": _NULLABLE_STR, "previous": _NULLABLE_STR, "changed": {"type": "boolean"}}),
    "Health": _object({"status": _STR}),
    "Ready": _object({"status": {"enum": ["ok", "unavailable"]}, "detail": _STR, "model_version": _NULLABLE_STR}),
    "Metrics": {"type": "string", "description": "Prometheus text exposition format"},
    "OpenAPI": {"type": "object", "description": "An OpenAPI 3.1 document"},
    "Html": {"type": "string"},
}

_READ_ERRORS = (401, 403, 422, 503)
OPERATIONS: dict[tuple[str, str], Operation] = {
    ("/healthz", "GET"): Operation("Liveness: the process answers", "operations", response="Health"),
    ("/readyz", "GET"): Operation("Readiness: a model is loaded and the store answers", "operations",
                                  response="Ready", errors=(503,)),
    ("/metrics", "GET"): Operation("Prometheus metrics", "operations", response="Metrics", read_auth=True,
                                   errors=(401, 403), media_type="text/plain"),
    ("/openapi.json", "GET"): Operation("This document (OpenAPI 3.1)", "operations", response="OpenAPI"),
    ("/docs", "GET"): Operation("The operations of this document as an HTML page", "operations", response="Html",
                                media_type="text/html"),
    ("/v1/users/{user_id}/recommendations", "GET"): Operation(
        f"Top-N items for a user (num_results ≤ {MAX_RESULTS}): cache, live model, popularity fallback",
        "recommendations", query=RecommendQuery, response=RecommendResponse, read_auth=True, errors=_READ_ERRORS),
    ("/v1/placements/{name}/users/{user_id}", "GET"): Operation(
        "A user's list for a configured placement (its model version, rules, filter, include_seen and k)",
        "recommendations", query=PlacementQuery, response=RecommendResponse, read_auth=True,
        errors=(*_READ_ERRORS, 404)),
    ("/v1/accounts/{account_id}/recommendations", "GET"): Operation(
        "Top-N items for a bill-to account (users' ACCOUNT_ID), from its buyers' pooled events", "recommendations",
        query=RecommendQuery, response=RecommendResponse, read_auth=True, errors=(*_READ_ERRORS, 404)),
    ("/v1/items/{item_id}/similar", "GET"): Operation(
        "Items similar to an item", "recommendations", query=SimilarQuery, response=RecommendResponse,
        read_auth=True, errors=(*_READ_ERRORS, 404)),
    ("/v1/users/{user_id}/ranking", "POST"): Operation(
        "Personalized ranking of the posted item ids", "recommendations", body=RankRequest,
        response=RecommendResponse, read_auth=True, errors=(400, 401, 403, 413, 422, 503)),
    ("/v1/baskets/recommendations", "POST"): Operation(
        "Complements of a cart (never a cart item), from the basket model; the customer's habits when user_id is given",
        "recommendations", body=BasketRequest, response=RecommendResponse, read_auth=True,
        errors=(400, 401, 403, 409, 413, 422, 503)),
    ("/v1/segments/items/{item_id}", "GET"): Operation(
        "The customers likeliest to buy an item (format=csv or Accept: text/csv: a user_id,score download)",
        "segments", query=SegmentQuery, response=SegmentResponse, private=True, list_params=(),
        errors=(401, 403, 404, 409, 503)),
    ("/v1/segments", "POST"): Operation(
        "The customers likeliest to buy any item matching an Items.<COLUMN> expression (format=csv: a download)",
        "segments", query=SegmentFormat, body=SegmentRequest, response=SegmentResponse, private=True, list_params=(),
        errors=(400, 401, 403, 409, 413, 503)),
    ("/v1/events", "POST"): Operation(
        "Record events (committed before the answer; idempotent on event_id)", "events", body=EventsRequest,
        response=EventsResponse, write=True, errors=(400, 401, 403, 413, 422, 503)),
    ("/v1/items/{item_id}", "PUT"): Operation("Insert or replace an item's metadata", "catalog", body="Metadata",
                                              response="ItemUpserted", write=True,
                                              errors=(400, 401, 403, 413, 422, 503)),
    ("/v1/users/{user_id}", "PUT"): Operation("Insert or replace a user's metadata", "users", body="Metadata",
                                              response="UserUpserted", write=True,
                                              errors=(400, 401, 403, 413, 422, 503)),
    ("/v1/users/{user_id}", "DELETE"): Operation("Delete a user's events, user row and cached lists", "users",
                                                 response="UserDeleted", write=True, errors=(401, 403, 503)),
    ("/v1/admin/reload", "POST"): Operation("Load the registry's active model version and swap it in", "admin",
                                            response="Reloaded", write=True, errors=(401, 403, 503)),
}

_STATUS_TEXT = {200: "OK", 400: "Bad request (not JSON)", 401: "API key missing", 403: "API key invalid",
                404: "Not found", 409: "The model version cannot answer this (retrain it)",
                408: "Body not received in time", 413: "Body too large",
                422: "Invalid parameters, ids or body",
                503: "Not ready, store unavailable or overloaded"}
_PATH_PARAM = re.compile(r"{([^}:]+)(?::[^}]+)?}")


def iter_routes(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str, Route]]:
    """(path template, method, route) of every HTTP route, mounts included; HEAD is left out."""
    for route in routes:
        if isinstance(route, Mount):
            yield from iter_routes(list(route.routes or ()), prefix + route.path)
        elif isinstance(route, Route):
            for method in sorted(route.methods or ("GET",)):
                if method != "HEAD":
                    yield prefix + route.path, method, route


class _Schemas:
    """components/schemas, filled as models are referenced."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {}

    def ref(self, schema: type[BaseModel] | str) -> dict[str, Any]:
        if isinstance(schema, str):
            self.components[schema] = EXTRA_SCHEMAS[schema]
            return {"$ref": REF.format(model=schema)}
        body = schema.model_json_schema(ref_template=REF)
        self.components.update(body.pop("$defs", {}))
        self.components[schema.__name__] = body
        return {"$ref": REF.format(model=schema.__name__)}


def _path_params(path: str) -> list[dict[str, Any]]:
    schema = {"type": "string", "minLength": 1, "maxLength": MAX_ID_CHARS, "pattern": ID_PATTERN,
              "description": "Trimmed of surrounding whitespace, then 1-256 characters without control characters"}
    return [{"name": name, "in": "path", "required": True, "schema": schema} for name in _PATH_PARAM.findall(path)]


def _query_params(op: Operation) -> list[dict[str, Any]]:
    if op.query is None:
        return []
    schema = op.query.model_json_schema()
    required = set(schema.get("required", ()))
    out = []
    for name, prop in schema["properties"].items():
        prop = {k: v for k, v in prop.items() if k != "title"}
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if name in op.list_params:
            param.update(style="form", explode=False, description="Comma-separated (or repeated) ids")
        out.append(param)
    return out


def _operation(path: str, method: str, route: Route, schemas: _Schemas) -> dict[str, Any]:
    op = OPERATIONS.get((path, method))
    doc = (route.endpoint.__doc__ or "").strip().splitlines()
    if op is None:  # not a native route: what the route table and the handler's docstring say
        return {"summary": doc[0] if doc else route.name, "operationId": f"{route.name}_{method.lower()}",
                "tags": ["other"], "parameters": _path_params(path),
                "responses": {"200": {"description": "OK"}, "4XX": {"description": "Client error"}}}
    ok_schema = schemas.ref(op.response) if op.response is not None else {}
    responses: dict[str, Any] = {"200": {"description": "OK", "content": {op.media_type: {"schema": ok_schema}}}}
    error = schemas.ref("Error")
    errors = {*op.errors, *((422,) if op.query or op.body or "{" in path else ()), *((408, 413) if op.body else ())}
    for status in sorted(errors):
        responses[str(status)] = {"description": _STATUS_TEXT[status], "content": {"application/json": {"schema": error}}}
    out: dict[str, Any] = {"summary": op.summary, "description": "\n".join(doc), "operationId": route.name,
                           "tags": [op.tag], "parameters": _path_params(path) + _query_params(op),
                           "responses": responses}
    if op.body is not None:
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": schemas.ref(op.body)}}}
    if op.write or op.private:
        out["security"] = [{"apiKey": []}]
    elif op.read_auth:
        out["security"] = [{}, {"apiKey": []}]  # open unless read_requires_key is set
    return out


def build_document(routes: list[BaseRoute], title: str = "homerec") -> dict[str, Any]:
    """The OpenAPI 3.1 document of every HTTP route in `routes`."""
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
    for path, method, route in iter_routes(routes):
        paths.setdefault(path, {})[method.lower()] = _operation(path, method, route, schemas)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": __version__,
                 "description": "Native recommendation API; errors are {\"error\": message} with a 4xx, "
                                "or 503 with Retry-After when overloaded."},
        "paths": paths,
        "components": {"schemas": dict(sorted(schemas.components.items())),
                       "securitySchemes": {"apiKey": {"type": "apiKey", "in": "header", "name": API_KEY_HEADER}}},
    }


def document(request: Request) -> dict[str, Any]:
    """The app's document, built once on first use."""
    state = request.app.state
    doc = getattr(state, "openapi", None)
    if doc is None:
        doc = state.openapi = build_document(request.app.routes)
    return doc


async def openapi_json(request: Request) -> Response:
    """GET /openapi.json: the OpenAPI document of this server."""
    return JSONResponse(document(request))


async def docs(request: Request) -> Response:
    """GET /docs: the operations of /openapi.json as a plain HTML page."""
    return HTMLResponse(render_html(document(request)))


def render_html(doc: dict[str, Any]) -> str:
    """A self-contained page: one section per operation with its parameters, body and answers."""
    e = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{e(doc['info']['title'])} API</title>",
             "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}code{background:#eee}"
             "section{border-top:1px solid #ccc;padding:.5em 0}.m{font-weight:bold;text-transform:uppercase}</style>",
             f"</head><body><h1>{e(doc['info']['title'])} {e(doc['info']['version'])}</h1>",
             f"<p>{e(doc['info']['description'])} Machine-readable: <a href='openapi.json'>openapi.json</a>.</p>"]
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            parts.append(f"<section id='{e(op['operationId'])}'><h2><span class='m'>{e(method)}</span> "
                         f"<code>{e(path)}</code></h2><p>{e(op['summary'])}</p>")
            if op.get("security"):
                parts.append(f"<p>API key ({e(API_KEY_HEADER)} header): "
                             f"{'required' if {} not in op['security'] else 'when reads need one'}</p>")
            if op["parameters"]:
                parts.append("<table><tr><th>parameter</th><th>in</th><th>required</th><th>schema</th></tr>")
                for p in op["parameters"]:
                    parts.append(f"<tr><td><code>{e(p['name'])}</code></td><td>{e(p['in'])}</td>"
                                 f"<td>{'yes' if p['required'] else 'no'}</td><td><code>{e(_brief(p['schema']))}"
                                 "</code></td></tr>")
                parts.append("</table>")
            if body := op.get("requestBody"):
                parts.append(f"<p>Body: <code>{e(_brief(body['content']['application/json']['schema']))}</code></p>")
            answers = ", ".join(f"{code} {r['description']}" for code, r in op["responses"].items())
            parts.append(f"<p>Answers: {e(answers)}</p></section>")
    parts.append("</body></html>")
    return "".join(parts)


def _brief(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " | ".join(_brief(s) for s in schema["anyOf"])
    text = schema.get("type", "any")
    if text == "array":
        text = f"array of {_brief(schema.get('items', {}))}"
    bounds = [f"{k}={schema[k]}" for k in ("minimum", "maximum", "minLength", "maxLength", "maxItems", "default")
              if k in schema]
    return f"{text} ({', '.join(bounds)})" if bounds else str(text)
