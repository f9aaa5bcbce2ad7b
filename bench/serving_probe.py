# SPDX-License-Identifier: Apache-2.0
"""Single-connection probes of a running homerec server: answer sources, event → recommendation latency."""

import http.client
import json
import socket
import statistics
import time
from collections import Counter
from urllib.parse import quote, urlsplit

import numpy as np

from bench.wrk import RECS_PATH


class Client:
    """One keep-alive HTTP/1.1 connection to the server, Nagle off as in urllib3 (boto3) and wrk."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        self.conn.connect()  # http.client sends a POST's headers and body apart: without this, +40 ms
        self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def request(self, method: str, path: str, body: dict | None = None) -> dict:
        """Send one request; the JSON answer (raises on a status other than 200)."""
        payload = json.dumps(body).encode() if body is not None else None
        headers = {"content-type": "application/json"} if body is not None else {}
        self.conn.request(method, path, body=payload, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"{method} {path}: {response.status} {data[:300]!r}")
        return json.loads(data)

    def recommendations(self, user_id: str) -> dict:
        """GET the user's top 10."""
        return self.request("GET", RECS_PATH.format(user=quote(user_id, safe="")))

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()


def sources(url: str, users: list[str]) -> dict[str, int]:
    """How many of these users' answers came from the cache, the model or the fallback."""
    client = Client(url)
    try:
        return dict(Counter(client.recommendations(u)["source"] for u in users))
    finally:
        client.close()


def idle_latency(url: str, users: list[str]) -> dict[str, float]:
    """Sequential GETs on one keep-alive connection to an idle server: median and max milliseconds.

    The floor under the loaded latency; a stack that adds a fixed delay per keep-alive request
    (Nagle's algorithm against the client's delayed ACK) shows here as ~40 ms.
    """
    client = Client(url)
    times = []
    try:
        for user in users:
            t0 = time.perf_counter()
            client.recommendations(user)
            times.append((time.perf_counter() - t0) * 1e3)
    finally:
        client.close()
    return {"median_ms": statistics.median(times), "max_ms": max(times), "requests": len(times)}


def reflect_one(writer: "Client", reader: "Client", user: str, give_up_s: float) -> tuple[float, float, bool, str]:
    """POST a purchase of the user's top item (as `reader` lists it) to `writer`, then GET `reader` until
    the item is gone: the POST's milliseconds, the milliseconds until gone (inf: not within `give_up_s`),
    whether the very next answer showed it, and the last answer's source."""
    top = reader.recommendations(user)["items"][0]["item_id"]
    t0 = time.perf_counter()
    ack = writer.request("POST", "/v1/events", {"events": [{"user_id": user, "item_id": top, "event_type": "purchase"}]})
    posted = (time.perf_counter() - t0) * 1e3
    if ack.get("accepted") != 1:
        raise RuntimeError(f"event for {user} not accepted: {ack}")
    tries = 0
    while True:
        answer = reader.recommendations(user)
        tries += 1
        gone = top not in {i["item_id"] for i in answer["items"]}
        if gone or time.perf_counter() - t0 > give_up_s:
            break
    took = (time.perf_counter() - t0) * 1e3 if gone else float("inf")
    return posted, took, gone and tries == 1, answer["source"]


def event_reflection(url: str, users: list[str], give_up_s: float = 2.0, read_url: str | None = None) -> dict:
    """For each user: POST a purchase of their top item, then GET until it is gone; milliseconds.

    With `read_url` the event goes to `url` and the GETs to another server process over the
    same store (the change feed must carry the event across). The timed span runs from sending
    the event to receiving the first answer without the item (normally the very next GET;
    `reflected_next` counts those).
    """
    writer = Client(url)
    client = Client(read_url) if read_url is not None else writer
    latencies, post_ms, next_hits, after = [], [], 0, Counter()
    try:
        for user in users:
            posted, took, next_hit, source = reflect_one(writer, client, user, give_up_s)
            post_ms.append(posted)
            latencies.append(took)
            next_hits += next_hit
            after[source] += 1
    finally:
        client.close()
        writer.close()
    return {
        "users": len(users), "reflected_next": int(next_hits), "never_reflected": latencies.count(float("inf")),
        "median_ms": statistics.median(latencies), "p99_ms": float(np.percentile(latencies, 99)),
        "max_ms": max(latencies), "post_median_ms": statistics.median(post_ms),
        "post_p99_ms": float(np.percentile(post_ms, 99)), "sources_after": dict(after),
    }
