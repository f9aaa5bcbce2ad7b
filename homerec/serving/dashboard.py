# SPDX-License-Identifier: Apache-2.0
"""The web dashboard: `GET /dashboard` (one self-contained page) and its JSON under `/dashboard/api/`.

    overview          model versions (offline metrics, which one is active and which one serves),
                      cache freshness, event rate, lists served by source, uptime
    experiments       every experiment: status, mode, traffic split and live per-variant metrics
    placements        each placement's lists, CTR, conversion and revenue over the last 7 days
    users/{user_id}   one user's last events and recommendations (score, 0-10 score, reason, source)

The page holds no data: its script reads the JSON routes, which need an `x-api-key` whenever
`api_keys` is set (they show any user's recent events: `homerec.serving.access`); the page asks
for the key and keeps it for the browser tab. A user lookup is not logged as a served list
(no exposure). Expensive answers are cached for a few seconds per process.
"""

import time
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from homerec import __version__
from homerec.serving import deps
from homerec.serving.fields import Id
from homerec.serving.dashboard_data import (
    TTLCache,
    answers_by_source,
    cache_freshness,
    event_rate,
    experiments_summary,
    models_summary,
    placements_summary,
    user_experiment,
    user_history,
)
from homerec.serving.request import USER, Request as Read
from homerec.serving.router import answer
from homerec.serving.service import RecService
from homerec.serving.versions import Versions

OVERVIEW_TTL_S = 3.0
COUNTS_TTL_S = 30.0
EXPERIMENTS_TTL_S = 10.0
REFRESH_S = 5
"""How often the page reloads the overview (the experiments every second time)."""
HISTORY_ROWS = 50
MAX_LOOKUP = 100


class UserQuery(BaseModel):
    """The user lookup: a user id (from the path) and how many recommendations to show."""

    model_config = ConfigDict(extra="forbid")

    user_id: Id
    k: int = Field(10, ge=1, le=MAX_LOOKUP)


class Dashboard:
    """The dashboard routes of one app, with the app's start time and the per-process caches."""

    def __init__(self) -> None:
        self.started_at = time.time()
        self._overview = TTLCache(OVERVIEW_TTL_S)
        self._counts = TTLCache(COUNTS_TTL_S)
        self._experiments = TTLCache(EXPERIMENTS_TTL_S)
        self._placements = TTLCache(EXPERIMENTS_TTL_S)
        env = Environment(loader=PackageLoader("homerec.serving", "templates"), autoescape=select_autoescape())
        self._page = env.get_template("dashboard.html").render(version=__version__, refresh_s=REFRESH_S)

    def routes(self) -> list[Route]:
        """The page and its JSON routes."""
        return [
            Route("/dashboard", self.page, methods=["GET"], name="dashboard"),
            Route("/dashboard/api/overview", self.overview, methods=["GET"], name="dashboard_overview"),
            Route("/dashboard/api/experiments", self.experiments, methods=["GET"], name="dashboard_experiments"),
            Route("/dashboard/api/placements", self.placements, methods=["GET"], name="dashboard_placements"),
            Route("/dashboard/api/users/{user_id}", self.user, methods=["GET"], name="dashboard_user"),
        ]

    async def page(self, request: Request) -> Response:
        """GET /dashboard: the dashboard page (no data in it; its script reads /dashboard/api/)."""
        return HTMLResponse(self._page, headers={"cache-control": "no-cache"})

    async def overview(self, request: Request) -> Response:
        """GET /dashboard/api/overview: models, serving state, cache freshness and event rate."""
        svc, held, metrics = deps.service(request), deps.versions(request), deps.metrics(request)
        body = await run_in_threadpool(self._overview.get, "overview", lambda: self._build_overview(svc, held))
        current = held.current
        return JSONResponse({
            **body,
            "server": {"homerec_version": __version__, "started_at": int(self.started_at),
                       "uptime_s": int(time.time() - self.started_at),
                       "model_version": current.version if current else None,
                       "load_error": held.last_error,
                       "served_by_source": answers_by_source(metrics)},
        })

    def _build_overview(self, svc: RecService, held: Versions) -> dict[str, Any]:
        now = int(time.time())
        registry = held.registry
        ready, detail = svc.ready()
        active = registry.active()
        return {
            "now": now,
            "ready": ready,
            "detail": detail,
            "active": active,
            "models": models_summary(registry.list_versions()),
            "cache": cache_freshness(svc.store, active),
            "events": event_rate(svc.store.interactions(since=now - 3600), now),
            "counts": self._counts.get("counts", svc.store.counts),
        }

    async def experiments(self, request: Request) -> Response:
        """GET /dashboard/api/experiments: each experiment's split and live per-variant metrics."""
        store = deps.service(request).store
        body = await run_in_threadpool(
            self._experiments.get, "experiments", lambda: experiments_summary(store, int(time.time())))
        return JSONResponse(body)

    async def placements(self, request: Request) -> Response:
        """GET /dashboard/api/placements: each placement's lists, CTR, conversion and revenue (last 7 days)."""
        store, configured = deps.service(request).store, list(deps.placements(request))
        body = await run_in_threadpool(
            self._placements.get, "placements", lambda: placements_summary(store, configured, int(time.time())))
        return JSONResponse(body)

    async def user(self, request: Request) -> Response:
        """GET /dashboard/api/users/{user_id}?k=: the user's last events and recommendations."""
        q = deps.parse(UserQuery, {**deps.query_params(request), "user_id": request.path_params["user_id"]})
        svc, router = deps.service(request), deps.router(request)
        # A look, not a served list: no exposure is logged.
        found = await answer(router, Read(USER, user_id=q.user_id, k=q.k, logged=False))

        def lookup() -> dict[str, Any]:
            history = svc.store.history(q.user_id)
            return {
                "user_id": q.user_id,
                "known": history.height > 0,
                "events_total": history.height,
                "history": user_history(history, HISTORY_ROWS),
                "experiment": user_experiment(svc.store, q.user_id),
                "source": found.source,
                "model_version": found.model_version,
                "recommendations": [{"rank": n, "item_id": r.item_id, "score": r.score, "score10": r.score10,
                                     "reason": r.reason} for n, r in enumerate(found.items, 1)],
            }

        return JSONResponse(await run_in_threadpool(lookup))


def routes() -> list[Route]:
    """The dashboard's routes for one app (call once per app: it holds the app's start time)."""
    return Dashboard().routes()
