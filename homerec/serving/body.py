# SPDX-License-Identifier: Apache-2.0
"""Request bodies, read before a request counts as in flight: credentials first, a size limit
while reading, a deadline.

The ASGI server hands a body over in chunks as the client sends it. Read inside a handler, a
slow client holds a request slot (`max_in_flight`) for as long as it likes, and a chunked
body is buffered whole before any size check. This pure ASGI middleware sits outside the
overload guard and, for each HTTP request:

1. asks the `Gate` whether the headers allow the route (API key, SigV4 header form, key and
   date) and answers 401/403 when not, without reading the body for the request: only a
   small body that is already on its way is drained first (`DRAIN_BYTES` within `DRAIN_S`),
   so that the connection closes cleanly (a socket closed with unread bytes is reset, and the
   client may lose the answer); anything else is answered at once and the connection closed;
2. answers 413 at once when `Content-Length` is over the limit, and stops reading (413) as
   soon as the bytes received pass it, chunked bodies included;
3. answers 408 (and closes the connection) when the whole body has not arrived within
   `read_timeout_s`;
4. passes the request on with the body already in memory: only then does it count against
   `max_in_flight` and reach a handler.

Errors are `{"error": message}`, or the AWS shape on the Personalize routes.
"""

import asyncio
import json
import uuid

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from homerec.serving.access import Access, Gate, Refusal

MAX_BODY_BYTES = 1 << 20
DRAIN_BYTES = 64 << 10
"""Largest body of a refused request that is read (and dropped) before the answer."""
DRAIN_S = 0.25
"""How long a refused request's body may take to arrive before the answer goes out anyway."""


class BodyMiddleware:
    """Pure ASGI middleware: access check, bounded and timed body read, then the app."""

    def __init__(self, app: ASGIApp, gate: Gate, max_bytes: int = MAX_BODY_BYTES, read_timeout_s: float = 10.0) -> None:
        self.app, self.gate, self.max_bytes, self.read_timeout_s = app, gate, max_bytes, read_timeout_s
        self.timed_out = 0
        self.too_large = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        access = self.gate.access(scope)
        refused = self.gate.refusal(access, headers)
        has_body = "content-length" in headers or "transfer-encoding" in headers
        if refused is not None:
            drained = not has_body or await _drain(receive, headers)
            await _answer(send, refused, access, close=not drained)
            return
        if not has_body:
            await self.app(scope, receive, send)  # no body (GET, DELETE, …)
            return
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            self.too_large += 1
            await _answer(send, _too_large(self.max_bytes), access, close=True)
            return
        try:
            async with asyncio.timeout(self.read_timeout_s):
                body = await self._read(receive)
        except TimeoutError:
            self.timed_out += 1
            await _answer(send, Refusal(408, "RequestTimeoutException",
                                        f"the request body did not arrive within {self.read_timeout_s:g} s"),
                          access, close=True)
            return
        if body is None:
            return  # the client went away
        if len(body) > self.max_bytes:
            self.too_large += 1
            await _answer(send, _too_large(self.max_bytes), access, close=True)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes | None:
        """The whole body (stops one chunk past the limit), or None when the client disconnected."""
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            chunks.append(chunk)
            size += len(chunk)
            if size > self.max_bytes or not message.get("more_body", False):
                return b"".join(chunks)


async def _drain(receive: Receive, headers: Headers) -> bool:
    """Read and drop a small body that arrives at once; False when it is large, slow or still coming."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > DRAIN_BYTES:
        return False
    size = 0
    try:
        async with asyncio.timeout(DRAIN_S):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return True
                size += len(message.get("body", b""))
                if size > DRAIN_BYTES:
                    return False
                if not message.get("more_body", False):
                    return True
    except TimeoutError:
        return False


def _too_large(max_bytes: int) -> Refusal:
    return Refusal(413, "InvalidInputException", f"body larger than {max_bytes} bytes")


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the body once, then the server's own messages (disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _answer(send: Send, refused: Refusal, access: Access, close: bool = False) -> None:
    """The error response: native `{"error"}` or AWS `{"__type", "message"}` with its headers."""
    headers = [(b"content-type", b"application/json")]
    if access.personalize:
        payload = {"__type": refused.code, "message": refused.message}
        headers += [(b"x-amzn-RequestId", str(uuid.uuid4()).encode()), (b"x-amzn-ErrorType", refused.code.encode())]
    else:
        payload = {"error": refused.message}
    body = json.dumps(payload).encode()
    headers.append((b"content-length", str(len(body)).encode()))
    if close:  # the rest of the body is never read: the connection cannot carry another request
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": refused.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
