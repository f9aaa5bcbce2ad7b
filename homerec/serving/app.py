# SPDX-License-Identifier: Apache-2.0
"""The app factory: `create_app(settings)`; the store and model are opened in the lifespan.

    uvicorn.run(create_app(load_settings()))                       # one process
    uvicorn.run("homerec.serving.app:factory", factory=True, workers=2)  # settings from HOMEREC_*
"""

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from homerec.errors import ConfigError, HomerecError, InputError, UnknownItem, UnknownUser
from homerec.models.registry import Registry
from homerec.serving import deps
from homerec.serving.ab import ABRouter
from homerec.serving.access import Gate
from homerec.serving.body import BodyMiddleware
from homerec.serving.catalog import Catalog
from homerec.serving.experiments import ExperimentState, ExposureLog
from homerec.serving.dashboard import routes as dashboard_routes
from homerec.filters import parse as parse_filter
from homerec.serving.metrics import Metrics, TimingMiddleware
from homerec.serving.native import ROUTES
from homerec.serving.overload import OverloadMiddleware
from homerec.serving.personalize import personalize_paths, personalize_routes
from homerec.serving.request_id import RequestIdMiddleware
from homerec.serving.service import RecService
from homerec.serving.state import ModelHolder
from homerec.settings import Settings, load_settings
from homerec.storage import open_store

log = logging.getLogger(__name__)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code, headers=exc.headers)


async def _homerec_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, (UnknownItem, UnknownUser)):
        return _error(404, str(exc))
    if isinstance(exc, (InputError, ConfigError)):
        return _error(422, str(exc))
    return _error(503, deps.unavailable(exc, f"{request.method} {request.url.path}"))


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return _error(500, "internal error")


def _warm_up() -> None:
    """Per-process set-up: one BLAS thread, and imports the first event would pay for (~0.4 s).

    A request scores one user: a BLAS pool per call only adds hand-offs, and N worker
    processes each running a pool of N threads oversubscribe the cores.
    """
    from threadpoolctl import threadpool_limits

    import pyarrow.compute  # noqa: F401  (event ids are built with it)

    threadpool_limits(1)


def check_filters(settings: Settings) -> None:
    """Every configured filter expression must parse: a bad one is a ConfigError at start-up."""
    for name, expression in settings.filters.items():
        try:
            parse_filter(expression)
        except InputError as err:
            raise ConfigError(f"filter {name}: {err}") from None


def create_app(settings: Settings) -> Starlette:
    """A Starlette app serving the registry's active model over the configured store."""
    check_filters(settings)
    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store = await run_in_threadpool(open_store, settings.store_url)
        await run_in_threadpool(_warm_up)
        holder = ModelHolder(Registry(settings.artifact_dir))
        try:
            await run_in_threadpool(holder.refresh)
        except HomerecError as err:  # serve (not ready) until a loadable version appears
            log.error("no model loaded at start: %s", err)
        catalog = Catalog(store, settings.catalog_refresh_s,
                          served=lambda: holder.current.model if holder.current is not None else None)
        service = RecService(store, holder, catalog)
        service.max_future_s = settings.max_future_skew_s
        experiments = ExperimentState(store, holder.registry, settings.reload_interval_s)
        exposures = ExposureLog(store)
        service.ab = ABRouter(service, experiments, exposures)
        app.state.service = service
        catalog.start()
        await run_in_threadpool(experiments.start)
        exposures.start()
        watcher = holder.watch(settings.reload_interval_s) if settings.reload_interval_s > 0 else None
        try:
            yield
        finally:
            if watcher is not None:
                watcher.stop()
            catalog.stop()
            experiments.stop()
            service.ab.close()
            exposures.stop()
            store.close()

    routes = ROUTES + personalize_routes(settings) + dashboard_routes()
    gate = Gate(settings, routes, personalize_paths(settings))
    app = Starlette(
        routes=routes,
        # Outermost first: the body is read (after the access check) before the request counts as in flight.
        middleware=[Middleware(RequestIdMiddleware), Middleware(TimingMiddleware, metrics=metrics),
                    Middleware(BodyMiddleware, gate=gate, read_timeout_s=settings.read_timeout_s),
                    Middleware(OverloadMiddleware, max_in_flight=settings.max_in_flight)],
        exception_handlers={HTTPException: _http_error, HomerecError: _homerec_error, Exception: _unexpected},
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    return app


def factory() -> Starlette:
    """The app from settings in the environment and config file (uvicorn's factory mode, workers > 1)."""
    return create_app(load_settings())
