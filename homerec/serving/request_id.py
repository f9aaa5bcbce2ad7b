# SPDX-License-Identifier: Apache-2.0
"""Every HTTP response carries a request id (`x-amzn-RequestId`, as AWS services send it).

The Personalize adapter sets its own id (it also goes into error bodies and logs); every other
response — native routes, 404/405, the overload guard's 503 — gets a fresh one here, so a
client or a proxy log can always quote the id of the answer it saw.
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from homerec.serving.request import new_recommendation_id

HEADER = b"x-amzn-requestid"


class RequestIdMiddleware:
    """Pure ASGI middleware adding `x-amzn-RequestId` to responses that lack one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == HEADER for name, _ in headers):
                    headers.append((b"x-amzn-RequestId", new_recommendation_id().encode()))
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_id)
