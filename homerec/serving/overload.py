# SPDX-License-Identifier: Apache-2.0
"""Load shedding: at most `max_in_flight` HTTP requests per process; the rest get 503 at once.

A refused request costs one JSON answer and never reaches a handler, the thread pool or the
store, so an overloaded worker keeps answering (quickly, with 503 + Retry-After) instead of
queueing without bound and falling over. /healthz is never refused (a busy process is alive).
"""

import json

from starlette.types import ASGIApp, Receive, Scope, Send

EXEMPT_PATHS = frozenset({"/healthz"})


class OverloadMiddleware:
    """Pure ASGI middleware counting in-flight HTTP requests (one event loop: a plain int is safe)."""

    def __init__(self, app: ASGIApp, max_in_flight: int, retry_after_s: int = 1) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.app, self.max_in_flight, self.retry_after_s = app, max_in_flight, retry_after_s
        self.in_flight = 0
        self.rejected = 0
        self._body = json.dumps({"error": f"server overloaded ({max_in_flight} requests in flight): "
                                          f"retry after {retry_after_s}s"}).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            self.rejected += 1
            await send({"type": "http.response.start", "status": 503, "headers": [
                (b"content-type", b"application/json"), (b"content-length", str(len(self._body)).encode()),
                (b"retry-after", str(self.retry_after_s).encode())]})
            await send({"type": "http.response.body", "body": self._body})
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
