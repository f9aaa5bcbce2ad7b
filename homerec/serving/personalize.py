# SPDX-License-Identifier: Apache-2.0
"""The AWS Personalize APIs on this server: runtime and events (rest-json), and the control plane (JSON 1.1).

    boto3.client("personalize-runtime", endpoint_url="http://host:8000")   # or .../<prefix>
    boto3.client("personalize-events", endpoint_url="http://host:8000")
    boto3.client("personalize", endpoint_url="http://host:8000")           # POST / with X-Amz-Target

The adapters translate and nothing else: verify SigV4 (`homerec.serving.sigv4`; the header
form is checked before the body by `homerec.serving.access`), resolve ARNs and trackingIds to
a dataset group (`homerec.serving.groups`), and turn camelCase requests into `Request`s and
`Answer`s back into Personalize's shapes (`personalize_runtime`, `personalize_events`,
`control`). Errors follow `homerec.serving.errors` (`x-amzn-ErrorType` and `{"__type",
"message"}`, so botocore raises its own exception classes). Wire details:
`shared/design/personalize-compat.md`.
"""

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request as HttpRequest
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from homerec.serving import control, deps
from homerec.serving.errors import aws_response, classify
from homerec.serving.personalize_events import (
    put_action_interactions,
    put_actions,
    put_events,
    put_items,
    put_users,
)
from homerec.serving.personalize_runtime import get_action_recommendations, get_personalized_ranking, get_recommendations
from homerec.serving.personalize_wire import authenticate
from homerec.settings import Settings

Handler = Callable[[HttpRequest, bytes], Awaitable[dict[str, Any]]]
CONTROL_PATH = "/"
"""The control plane's one path (JSON 1.1: the operation is in `X-Amz-Target`)."""


def _endpoint(handler: Handler, content_type: str = "application/json") -> Callable[[HttpRequest], Awaitable[Response]]:
    """The signature check and the AWS answer (or error) around one operation."""

    async def endpoint(request: HttpRequest) -> Response:
        request_id = str(uuid.uuid4())
        try:
            body = await request.body()  # already read, within its limits, by BodyMiddleware
            authenticate(request, deps.settings(request), body)
            result = await handler(request, body)
            return JSONResponse(result, headers={"x-amzn-RequestId": request_id}, media_type=content_type)
        except Exception as err:  # noqa: BLE001 - every failure gets its row of the error table
            return aws_response(classify(err, f"Personalize {request.url.path}", aws=True), request_id)

    endpoint.__name__ = handler.__name__
    return endpoint


OPERATIONS: dict[str, Handler] = {
    "/recommendations": get_recommendations,
    "/personalize-ranking": get_personalized_ranking,
    "/action-recommendations": get_action_recommendations,
    "/events": put_events,
    "/items": put_items,
    "/users": put_users,
    "/actions": put_actions,
    "/action-interactions": put_action_interactions,
}
WRITES = ("/events", "/items", "/users", "/actions", "/action-interactions", CONTROL_PATH)
"""Paths of the operations that write (the control plane's included): unsigned, they need an API key."""


def _prefixes(settings: Settings) -> list[str]:
    return [""] + ([settings.personalize_prefix] if settings.personalize_prefix else [])


def personalize_paths(settings: Settings) -> dict[str, bool]:
    """Every Personalize path (see `personalize_routes`) → whether it writes."""
    paths = {}
    for prefix in _prefixes(settings):
        for path in (*OPERATIONS, CONTROL_PATH):
            paths[prefix + path] = path in WRITES
    return paths


def personalize_routes(settings: Settings) -> list[Route]:
    """POST routes of the operations at `/` and, when set, under `settings.personalize_prefix`."""
    routes = []
    for prefix in _prefixes(settings):
        routes += [Route(prefix + path, _endpoint(handler), methods=["POST"]) for path, handler in OPERATIONS.items()]
        routes.append(Route(prefix + CONTROL_PATH, _endpoint(control.dispatch, control.CONTENT_TYPE), methods=["POST"]))
    return routes
