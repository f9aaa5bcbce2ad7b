# SPDX-License-Identifier: Apache-2.0
"""The serving benchmark's floor: a Starlette app that answers a small fixed JSON, nothing else.

It answers the same path as homerec's recommendations route, so one wrk script drives both;
serve it on the same stack as homerec (``uvicorn bench.trivial_app:app --workers 2``).
"""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def recommendations(request: Request) -> JSONResponse:
    """A fixed ten-item answer naming the requested user."""
    return JSONResponse({"user_id": request.path_params["user_id"], "items": [f"P{i:05d}" for i in range(10)]})


async def healthz(request: Request) -> JSONResponse:
    """The process answers."""
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[
    Route("/v1/users/{user_id}/recommendations", recommendations, methods=["GET"]),
    Route("/readyz", healthz, methods=["GET"]),
])
