# SPDX-License-Identifier: Apache-2.0
"""What a handler needs from the app (router, service, writes, metrics, settings), and body and path parsing.

Who may call a route is decided before the handler runs (`homerec.serving.access`), and the
body has already arrived within its size and time limits (`homerec.serving.body`).
"""

import functools
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.exceptions import HTTPException
from starlette.datastructures import QueryParams
from starlette.requests import Request

from homerec.data.rules import clean_id
from homerec.rules.compile import Placement
from homerec.serving import jsontext
from homerec.serving.group_runtimes import GroupRuntimes
from homerec.serving.metrics import Metrics
from homerec.serving.router import Router
from homerec.serving.segments import Segments
from homerec.serving.service import RecService
from homerec.serving.versions import Versions
from homerec.serving.writes import Writes
from homerec.settings import Settings

M = TypeVar("M", bound=BaseModel)


def router(request: Request) -> Router:
    """The app's Router: every read goes through it (`homerec.serving.router.answer`)."""
    return request.app.state.router


def runtimes(request: Request) -> GroupRuntimes:
    """The dataset groups and the runtime serving each (Personalize ARNs are resolved through it)."""
    return request.app.state.runtimes


def placements(request: Request) -> Mapping[str, Placement]:
    """The configured placements, compiled at start (`homerec.rules`)."""
    return request.app.state.runtime.placements


def segments(request: Request) -> Segments:
    """The active version's segment model, loaded on first use (`homerec.serving.segments`)."""
    held = request.app.state.runtime.segments
    assert held is not None
    return held


def service(request: Request) -> RecService:
    """The app's RecService (below the router: reads that are no experiment's business)."""
    return request.app.state.service


def writes(request: Request) -> Writes:
    """The app's Writes (events, metadata, deletion)."""
    return request.app.state.writes


def versions(request: Request) -> Versions:
    """The model versions the app holds."""
    return request.app.state.versions


def metrics(request: Request) -> Metrics:
    """The app's metrics."""
    return request.app.state.metrics


def settings(request: Request) -> Settings:
    """The settings the app was created with."""
    return request.app.state.settings


def validation_message(err: ValidationError) -> str:
    """One line per problem: `field.path: message`."""
    parts = []
    for e in err.errors(include_url=False):
        loc = ".".join(str(p) for p in e["loc"]) or "body"
        parts.append(f"{loc}: {e['msg']}")
    return "; ".join(parts)


def parse(model: type[M], data: Any) -> M:
    """Validate `data` into `model`; a 422 with the problems otherwise."""
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise HTTPException(422, validation_message(err)) from None


def parse_as(adapter: TypeAdapter, data: Any) -> Any:
    """Validate `data` with a TypeAdapter; a 422 with the problems otherwise."""
    try:
        return adapter.validate_python(data)
    except ValidationError as err:
        raise HTTPException(422, validation_message(err)) from None


async def json_body(request: Request) -> Any:
    """The request's JSON body (already read by `BodyMiddleware`); 400 when absent or not JSON."""
    body = await request.body()
    if not body:
        raise HTTPException(400, "a JSON body is required")
    try:
        return jsontext.loads(body)
    except ValueError as err:  # bad JSON or UTF-8, NaN/Infinity, 1e400, too deep, a lone surrogate
        raise HTTPException(400, f"body is not valid JSON: {err}") from None


def path_id(request: Request, name: str) -> str:
    """A path parameter that is an id, trimmed (`homerec.data.rules`); 422 when it breaks the id rule."""
    try:
        return clean_id(request.path_params[name], name)
    except ValueError as err:
        raise HTTPException(422, f"{name}: {err}") from None


def query(model: type[M], request: Request, lists: tuple[str, ...] = ("exclude",)) -> M:
    """The query string validated into `model` (see `query_params`); a 422 with the problems otherwise.

    Clients send the same few query strings over and over (`?num_results=10`): the validated
    model of a query string is kept (models are never changed after validation), so a repeat
    costs a dict lookup instead of parsing and validating again.
    """
    return _query(model, request.scope.get("query_string", b""), lists)


@functools.lru_cache(maxsize=4096)
def _query(model: type[M], raw: bytes, lists: tuple[str, ...]) -> M:
    return parse(model, query_params(QueryParams(raw), lists))


def query_params(request: Request | QueryParams, lists: tuple[str, ...] = ()) -> dict[str, Any]:
    """Query parameters as a dict; names in `lists` are comma-separated (or repeated) lists."""
    params = request.query_params if isinstance(request, Request) else request
    out: dict[str, Any] = {}
    for name in params:
        values = params.getlist(name)
        if name in lists:
            out[name] = [v.strip() for value in values for v in value.split(",") if v.strip()]
        elif len(values) > 1:
            raise HTTPException(422, f"{name}: given more than once")
        else:
            out[name] = values[0]
    return out
