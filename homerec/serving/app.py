# SPDX-License-Identifier: Apache-2.0
"""The app factory: `create_app(settings)`; what a serving process runs starts in the lifespan.

    uvicorn.run(create_app(load_settings()))                       # one process
    homerec serve --workers 2                                      # granian over `factory`, settings from HOMEREC_*
"""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

from homerec.errors import ConfigError, HomerecError, InputError
from homerec.filters import parse as parse_filter
from homerec.rules import placements_of
from homerec.serving.access import Gate
from homerec.serving.body import BodyMiddleware
from homerec.serving.dashboard import routes as dashboard_routes
from homerec.serving.errors import classify, native_response
from homerec.serving.group_runtimes import GroupRuntimes
from homerec.serving.metrics import Metrics, TimingMiddleware
from homerec.serving.native import ROUTES
from homerec.serving.overload import OverloadMiddleware
from homerec.serving.personalize import personalize_paths, personalize_routes
from homerec.serving.request_id import RequestIdMiddleware
from homerec.serving.runtime import Runtime
from homerec.settings import Settings, load_settings

log = logging.getLogger(__name__)


async def _error(request: Request, exc: Exception) -> Response:
    """Every exception a native handler raises, answered by its row of `homerec.serving.errors`."""
    failure = classify(exc, f"{request.method} {request.url.path}")
    headers = exc.headers if isinstance(exc, HTTPException) else None
    return native_response(failure, headers)


def check_filters(settings: Settings) -> None:
    """Every configured filter expression must parse: a bad one is a ConfigError at start-up."""
    configured = list(settings.filters.items())
    configured += [(arn, e) for group in settings.personalize_groups() for arn, e in group.filters.items()]
    for name, expression in configured:
        try:
            parse_filter(expression)
        except InputError as err:
            raise ConfigError(f"filter {name}: {err}") from None


def create_app(settings: Settings) -> Starlette:
    """A Starlette app serving the registry's active model over the configured store."""
    check_filters(settings)
    placements_of(settings.rules, settings.placements)  # a rule set or placement that does not compile: ConfigError now
    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        runtime = await run_in_threadpool(Runtime.start, settings)
        runtime.follow(asyncio.get_running_loop())
        state = app.state
        state.runtime, state.router, state.service = runtime, runtime.router, runtime.service
        state.writes, state.versions = runtime.writes, runtime.versions
        try:
            state.runtimes = await run_in_threadpool(GroupRuntimes.start, settings, runtime)
        except BaseException:
            await run_in_threadpool(runtime.stop)
            raise
        try:
            yield
        finally:
            await run_in_threadpool(state.runtimes.stop)
            await run_in_threadpool(runtime.stop)

    routes = ROUTES + personalize_routes(settings) + dashboard_routes()
    gate = Gate(settings, routes, personalize_paths(settings))
    app = Starlette(
        routes=routes,
        # Outermost first: the body is read (after the access check) before the request counts as in flight.
        middleware=[Middleware(RequestIdMiddleware), Middleware(TimingMiddleware, metrics=metrics),
                    Middleware(BodyMiddleware, gate=gate, read_timeout_s=settings.read_timeout_s),
                    Middleware(OverloadMiddleware, max_in_flight=settings.max_in_flight)],
        exception_handlers={HTTPException: _error, HomerecError: _error, Exception: _error},
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    return app


def factory() -> Starlette:
    """The app from settings in the environment and config file (granian's factory mode, workers > 1)."""
    return create_app(load_settings())
