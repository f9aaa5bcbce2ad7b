# SPDX-License-Identifier: Apache-2.0
"""Replay a generated population against a running server, through its real HTTP API.

Synthetic customers ask `GET /v1/users/{id}/recommendations`, click and buy what the
generator's hidden tastes make them like (`homerec.synth.clicks.ClickModel`) and post those
events to `POST /v1/events` carrying the list's `recommendation_id`, so an A/B report can be
shown end to end on one machine. Only the given URL is contacted; the run is bounded by a
request count and a duration.
"""

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx
import numpy as np

from homerec.data.schema import DEFAULT_EVENT_TYPE
from homerec.errors import ConfigError, InputError
from homerec.synth.clicks import ClickModel, World, load_world

DEFAULT_URL = "http://127.0.0.1:8000"
CLICK = "click"
PURCHASE = DEFAULT_EVENT_TYPE
API_KEY_HEADER = "x-api-key"

Progress = Callable[[int, int], None]


@dataclass
class SourceStats:
    """What the lists of one `source` (cache, model, fallback, ...) earned."""

    lists: int = 0
    shown: int = 0
    clicks: int = 0
    purchases: int = 0
    revenue: float = 0.0
    expected_clicks: float = 0.0
    """Sum of the click model's probabilities over the shown items: a low-noise CTR estimate."""
    explored: int = 0
    """Shown items that the server's exploration placed (`exploration: true`)."""
    explored_clicks: int = 0

    @property
    def ctr(self) -> float:
        """Clicks per shown item."""
        return self.clicks / self.shown if self.shown else 0.0

    @property
    def expected_ctr(self) -> float:
        """Expected clicks per shown item."""
        return self.expected_clicks / self.shown if self.shown else 0.0


@dataclass
class SimulationSummary:
    """The outcome of one simulate() run; clicks and purchases count events the server acknowledged."""

    url: str
    requests: int = 0
    by_source: dict[str, SourceStats] = field(default_factory=dict)
    events_accepted: int = 0
    events_duplicate: int = 0
    errors: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    shown_items: Counter = field(default_factory=Counter)
    """Item id → times shown (what a bench needs to tell which products a variant put in front of users)."""
    clicked_items: Counter = field(default_factory=Counter)
    """Item id → stored clicks."""

    @property
    def lists(self) -> int:
        """Recommendation lists served."""
        return sum(s.lists for s in self.by_source.values())

    @property
    def clicks(self) -> int:
        """Click events stored."""
        return sum(s.clicks for s in self.by_source.values())

    @property
    def purchases(self) -> int:
        """Purchase events stored."""
        return sum(s.purchases for s in self.by_source.values())

    @property
    def revenue(self) -> float:
        """Sum of the prices of the purchases stored."""
        return sum(s.revenue for s in self.by_source.values())

    @property
    def ctr(self) -> float:
        """Clicks per shown item over all lists."""
        shown = sum(s.shown for s in self.by_source.values())
        return self.clicks / shown if shown else 0.0

    @property
    def n_errors(self) -> int:
        """Failed HTTP calls (transport errors, error statuses, unreadable answers)."""
        return sum(self.errors.values())

    @property
    def requests_per_s(self) -> float:
        """Recommendation requests per second of wall time."""
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def check_server(client: httpx.Client) -> None:
    """Fail early, in one line, when the URL is not a ready homerec server.

    Raises:
        InputError: Nothing answers, /healthz is not 200, or /readyz says no model is loaded.
    """
    url = str(client.base_url)
    try:
        health = client.get("/healthz")
        ready = client.get("/readyz") if health.status_code == 200 else health
    except (httpx.HTTPError, httpx.InvalidURL) as err:
        raise InputError(f"cannot reach a homerec server at {url}: {err or type(err).__name__}") from None
    if health.status_code != 200:
        raise InputError(f"{url} answered GET /healthz with HTTP {health.status_code}: is it a homerec server?")
    if ready.status_code != 200:
        raise InputError(f"the server at {url} is not ready: {_detail(ready)}")


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail") or response.status_code)
    except (ValueError, AttributeError):
        return f"HTTP {response.status_code}"


class _Run:
    """One simulation's shared state; step(i) is called from several threads."""

    def __init__(self, client: httpx.Client, world: World, users: np.ndarray, model: ClickModel,
                 seed: int, num_results: int, summary: SimulationSummary) -> None:
        self.client, self.world, self.users, self.model = client, world, users, model
        self.seed, self.num_results, self.summary = seed, num_results, summary
        self.run_id = uuid.uuid4().hex[:12]  # event ids stay unique when the same seed runs twice
        self.lock = threading.Lock()

    def _error(self, what: str) -> None:
        with self.lock:
            self.summary.errors[what] += 1

    def _post(self, events: list[dict]) -> tuple[int | None, int]:
        """POST the events; (accepted, duplicates), or (None, 0) after counting the error."""
        try:
            r = self.client.post("/v1/events", json={"events": events})
        except httpx.HTTPError as err:
            self._error(f"POST events: {type(err).__name__}")
            return None, 0
        if r.status_code != 200:
            self._error(f"POST events: HTTP {r.status_code}")
            return None, 0
        try:
            answer = r.json()
            return int(answer["accepted"]), int(answer["duplicates"])
        except (ValueError, KeyError, TypeError):
            self._error("POST events: unreadable answer")
            return None, 0

    def step(self, i: int) -> None:
        """Request one list for user i, react to it and post the events; errors are counted, not raised."""
        user = str(self.users[i])
        try:
            r = self.client.get(f"/v1/users/{quote(user, safe='')}/recommendations",
                                params={"num_results": self.num_results})
        except httpx.HTTPError as err:
            return self._error(f"GET recommendations: {type(err).__name__}")
        if r.status_code != 200:
            return self._error(f"GET recommendations: HTTP {r.status_code}")
        try:
            body = r.json()
            items = [str(it["item_id"]) for it in body["items"]]
            explored = [bool(it.get("exploration")) for it in body["items"]]
            source, rec_id = str(body["source"]), str(body["recommendation_id"])
        except (ValueError, KeyError, TypeError):
            return self._error("GET recommendations: unreadable answer")
        affinity = self.world.affinity(user, items)
        clicked, bought = self.model.react(affinity, np.random.default_rng([self.seed, i]))
        events = []
        for rank in np.flatnonzero(clicked).tolist():
            event = {"user_id": user, "item_id": items[rank], "recommendation_id": rec_id}
            events.append({**event, "event_type": CLICK, "event_id": f"sim-{self.run_id}-{i}-{rank}-c"})
            if bought[rank]:
                price = self.world.prices.get(items[rank])
                events.append({**event, "event_type": PURCHASE, "event_id": f"sim-{self.run_id}-{i}-{rank}-p",
                               **({"event_value": price} if price is not None else {})})
        accepted, duplicates = self._post(events) if events else (0, 0)
        if accepted is None:
            events = []  # not stored: the error is counted, the list still is
        with self.lock:
            stats = self.summary.by_source.setdefault(source, SourceStats())
            stats.lists += 1
            stats.shown += len(items)
            stats.expected_clicks += float(self.model.click_probability(affinity).sum())
            clicks = [e["item_id"] for e in events if e["event_type"] == CLICK]
            stats.clicks += len(clicks)
            stats.explored += sum(explored)
            stats.explored_clicks += sum(explored[items.index(i)] for i in clicks)
            self.summary.shown_items.update(items)
            self.summary.clicked_items.update(clicks)
            stats.purchases += sum(e["event_type"] == PURCHASE for e in events)
            stats.revenue += sum(e.get("event_value", 0.0) for e in events if e["event_type"] == PURCHASE)
            self.summary.events_accepted += accepted or 0
            self.summary.events_duplicate += duplicates


def simulate(
    data_dir: str | Path,
    url: str = DEFAULT_URL,
    *,
    requests: int = 2000,
    concurrency: int = 4,
    seed: int = 0,
    api_key: str | None = None,
    duration: float = 60.0,
    new_user_share: float = 0.1,
    num_results: int = 10,
    click_model: ClickModel = ClickModel(),
    timeout_s: float = 10.0,
    progress: Progress | None = None,
) -> SimulationSummary:
    """Run `requests` recommend → click → buy rounds of the folder's customers against `url`.

    Users are drawn with `seed` up front: customers with orders in interactions.csv, and a
    `new_user_share` of users the generator created without orders (new to the server). Each
    round's clicks come from its own seeded generator, so the same lists give the same events.

    Args:
        data_dir: A folder written by `homerec generate` (hidden_tastes.npz, items.csv, interactions.csv).
        url: The server's base URL; nothing else is contacted.
        requests: Recommendation requests to make (at most).
        concurrency: Threads making them over one keep-alive connection pool.
        seed: Seed of the user draws and the reactions.
        api_key: Sent as x-api-key when the server has keys configured.
        duration: Seconds after which no new request starts.
        new_user_share: Fraction of requests for users without orders.
        num_results: Length of each list asked for.
        click_model: How users react to a list.
        timeout_s: Timeout of each HTTP call.
        progress: Called with (requests done, requests planned) after each request.

    Returns:
        Requests, lists and clicks per source, purchases, revenue, errors and the wall time.

    Raises:
        InputError: The folder is not a generated one, or the server cannot be reached or is not ready.
        ConfigError: A count, duration or share out of range.
    """
    if requests < 0 or concurrency < 1 or not duration > 0 or not 0.0 <= new_user_share <= 1.0 or num_results < 1:
        raise ConfigError("need requests >= 0, concurrency >= 1, duration > 0, 0 <= new_user_share <= 1, "
                          "num_results >= 1")
    world = load_world(data_dir)
    users = world.pick_users(np.random.default_rng(seed), requests, new_user_share)
    headers = {API_KEY_HEADER: api_key} if api_key else {}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    try:
        client = httpx.Client(base_url=url, headers=headers, timeout=timeout_s, limits=limits)
    except httpx.InvalidURL as err:
        raise InputError(f"bad server URL {url!r}: {err}") from None
    summary = SimulationSummary(url=url)
    with client:
        check_server(client)
        run = _Run(client, world, users, click_model, seed, num_results, summary)
        lock, stop, counter = threading.Lock(), threading.Event(), iter(range(requests))
        t0 = time.monotonic()
        deadline = t0 + duration

        def worker() -> None:
            while not stop.is_set() and time.monotonic() < deadline:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                run.step(i)
                with lock:
                    summary.requests += 1
                    done = summary.requests
                if progress is not None:
                    progress(done, requests)

        with ThreadPoolExecutor(concurrency, thread_name_prefix="simulate") as pool:
            futures = [pool.submit(worker) for _ in range(concurrency)]
            try:
                for f in futures:
                    f.result()
            finally:
                stop.set()
        summary.seconds = time.monotonic() - t0
    return summary
