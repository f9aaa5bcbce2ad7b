# SPDX-License-Identifier: Apache-2.0
"""What a handler needs from the app (service, metrics, settings), API-key checks and body parsing."""

import hmac
import json
import re
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request

from homerec.serving.metrics import Metrics
from homerec.serving.service import RecService
from homerec.settings import Settings

API_KEY_HEADER = "x-api-key"
MAX_BODY_BYTES = 1 << 20

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


def require_key(request: Request, write: bool) -> None:
    """401 without a key, 403 with a wrong one, when keys are configured (reads: only if told to)."""
    s = settings(request)
    if not s.api_keys or not (write or s.read_requires_key):
        return
    given = request.headers.get(API_KEY_HEADER)
    if not given:
        raise HTTPException(401, f"missing API key: send it in the {API_KEY_HEADER} header")
    if not any(hmac.compare_digest(given.encode(), k.encode()) for k in s.api_keys):
        raise HTTPException(403, "invalid API key")


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
    """The request's JSON body; 413 when too large, 400 when not JSON."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise HTTPException(413, f"body larger than {MAX_BODY_BYTES} bytes")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise HTTPException(413, f"body larger than {MAX_BODY_BYTES} bytes")
    if not body:
        raise HTTPException(400, "a JSON body is required")
    try:
        value = json.loads(body, parse_constant=_no_constant)
    except ValueError as err:  # bad JSON or UTF-8, NaN/Infinity, an integer over 4300 digits
        raise HTTPException(400, f"body is not valid JSON: {err}") from None
    except RecursionError:
        raise HTTPException(400, "body is not valid JSON: nested too deeply") from None
    if _SURROGATE_ESCAPE.search(body) and _has_lone_surrogate(value):
        raise HTTPException(400, "body is not valid JSON: a \\u escape is a lone UTF-16 surrogate")
    return value


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
"""A \\uD800-\\uDFFF escape: json.loads joins valid pairs, and leaves lone halves that no encoder accepts."""


def _has_lone_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            try:
                v.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(v, dict):
            stack.extend(v.keys())
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return False


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


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
