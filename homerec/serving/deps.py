# SPDX-License-Identifier: Apache-2.0
"""What a handler needs from the app (service, metrics, settings), body and path parsing, error messages.

Who may call a route is decided before the handler runs: `homerec.serving.access`.
"""

import logging
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request

from homerec.data.rules import clean_id
from homerec.serving import jsontext
from homerec.serving.body import MAX_BODY_BYTES
from homerec.serving.metrics import Metrics
from homerec.errors import StoreError
from homerec.serving.service import NotReady, RecService
from homerec.settings import Settings

log = logging.getLogger(__name__)


M = TypeVar("M", bound=BaseModel)


def service(request: Request) -> RecService:
    """The app's RecService (built in the lifespan)."""
    return request.app.state.service


def metrics(request: Request) -> Metrics:
    """The app's metrics."""
    return request.app.state.metrics


def settings(request: Request) -> Settings:
    """The settings the app was created with."""
    return request.app.state.settings


def unavailable(exc: Exception, what: str) -> str:
    """Log why a request could not be served; the answer's message, free of store URLs and paths."""
    log.warning("%s: %s: %s", what, type(exc).__name__, exc)
    if isinstance(exc, NotReady):
        return "no model is loaded yet: run `homerec train` (the server log says more)"
    if isinstance(exc, StoreError):
        return "the store is unavailable (the server log says why)"
    return "the service is unavailable (the server log says why)"


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
    """The request's JSON body; 413 when too large, 400 when not JSON (see `jsontext.loads`)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise HTTPException(413, f"body larger than {MAX_BODY_BYTES} bytes")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise HTTPException(413, f"body larger than {MAX_BODY_BYTES} bytes")
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


def query_params(request: Request, lists: tuple[str, ...] = ()) -> dict[str, Any]:
    """Query parameters as a dict; names in `lists` are comma-separated (or repeated) lists."""
    out: dict[str, Any] = {}
    for name in request.query_params:
        values = request.query_params.getlist(name)
        if name in lists:
            out[name] = [v.strip() for value in values for v in value.split(",") if v.strip()]
        elif len(values) > 1:
            raise HTTPException(422, f"{name}: given more than once")
        else:
            out[name] = values[0]
    return out
