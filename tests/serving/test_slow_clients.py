# SPDX-License-Identifier: Apache-2.0
"""Slow and oversized request bodies (issue 13 #4), over real sockets.

Before the fix, 260 sockets that each declared `Content-Length: 1000` and sent one byte held every
request slot for a minute (the overload guard counted a request at its headers, Personalize read
the body before SigV4 and nothing timed out a stalled body), and a 300 MB chunked body was
buffered whole before the 1 MiB limit applied. Now the body is read, with a deadline and the
limit, before a request counts in flight, and credentials are checked before the body is read.
"""

import socket
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.live import HomerecServer, serve_app
from tests.serving.conftest import API_KEY, copy_store, make_settings
from tests.serving.signing import AK, SECRET, signed_headers

STALLED = 40


def open_stalled(base: str, path: str = "/v1/events", headers: dict[str, str] | None = None) -> socket.socket:
    """A socket that sent a request's headers (Content-Length: 1000) and one byte of its body."""
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", "Content-Type: application/json",
             "Content-Length: 1000", *(f"{k}: {v}" for k, v in (headers or {}).items())]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n{").encode())
    return sock


def status_of(sock: socket.socket, timeout_s: float) -> int:
    """The status code of the answer on `sock` (waiting at most `timeout_s`)."""
    sock.settimeout(timeout_s)
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return int(data.split(b" ", 2)[1])


@pytest.fixture(scope="module")
def server(world):
    """uvicorn with one request slot and a 2 s body deadline."""
    with serve_app(make_settings(world, max_in_flight=1, read_timeout_s=2.0, sigv4_keys={AK: SECRET})) as url:
        yield url


def test_stalled_bodies_hold_no_request_slot_and_time_out(server, world):
    stalled = [open_stalled(server, headers={"x-api-key": API_KEY}) for _ in range(STALLED)]
    try:
        with httpx.Client(base_url=server, timeout=10) as client:
            for user in world["cached_users"][:5]:  # one slot, and it is free
                assert client.get(f"/v1/users/{user}/recommendations").status_code == 200
            r = client.post("/v1/events", headers={"x-api-key": API_KEY},
                            json={"events": [{"user_id": "fast", "item_id": world["item_ids"][0]}]})
            assert r.status_code == 200, r.text
        assert [status_of(s, 20) for s in stalled] == [408] * STALLED
    finally:
        for s in stalled:
            s.close()


@pytest.mark.parametrize(("path", "headers", "status"), [
    ("/v1/events", {}, 401),
    ("/v1/events", {"x-api-key": "wrong"}, 403),
    ("/events", {"Authorization": "AWS4-HMAC-SHA256 Credential=NOPE/20240101/eu-west-1/personalize/aws4_request, "
                                  "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
                 "X-Amz-Date": time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())}, 403),
    ("/events", {"Authorization": "Bearer x"}, 400),
    ("/events", {}, 403),
])
def test_credentials_are_checked_before_the_body_is_read(server, path, headers, status):
    sock = open_stalled(server, path, headers)
    try:
        assert status_of(sock, 1.0) == status  # well before the 2 s body deadline
    finally:
        sock.close()


def test_refused_requests_with_a_small_body_get_their_answer_on_a_reusable_connection(server):
    # A refused body is drained when it is small and prompt: closing with unread bytes would reset
    # the connection and the client could lose the 401.
    with httpx.Client(base_url=server, timeout=10) as client:
        for n in range(30):
            r = client.post("/v1/events", content=b"x" * (1000 + 997 * n))
            assert r.status_code == 401 and r.headers.get("connection") != "close", r.headers
        assert client.get("/healthz").status_code == 200


def test_a_signed_request_is_verified_once_its_body_is_in(server):
    body = b'{"trackingId": "t", "sessionId": "s", "eventList": [{"eventType": "click", "itemId": "i", "sentAt": 1}]}'
    r = httpx.post(f"{server}/events", content=body, headers=signed_headers(f"{server}/events", body), timeout=10)
    assert r.status_code == 200, r.text
    forged = signed_headers(f"{server}/events", body + b" ")  # signed for another body
    r = httpx.post(f"{server}/events", content=body, headers=forged, timeout=10)
    assert r.status_code == 403 and r.json()["__type"] == "InvalidSignatureException"


def test_a_large_chunked_body_is_refused_before_it_is_all_sent(server):
    host, port = server.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    sent = 0
    try:
        sock.sendall(f"POST /v1/events HTTP/1.1\r\nHost: {host}\r\nx-api-key: {API_KEY}\r\n"
                     "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
        chunk = b"%x\r\n%s\r\n" % (1 << 16, b" " * (1 << 16))
        try:
            while sent < 300 << 20:  # 300 MB, as the report's client
                sock.sendall(chunk)
                sent += 1 << 16
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading
        assert status_of(sock, 10) == 413
    finally:
        sock.close()
    assert sent < 64 << 20, f"{sent >> 20} MiB went in before the answer"


def test_a_declared_length_over_the_limit_is_refused_at_once(server):
    sock = socket.create_connection(tuple(server.removeprefix("http://").split(":")), timeout=5)
    try:
        sock.sendall(f"POST /v1/events HTTP/1.1\r\nHost: x\r\nx-api-key: {API_KEY}\r\n"
                     f"Content-Length: {300 << 20}\r\n\r\n".encode())
        assert status_of(sock, 2) == 413
    finally:
        sock.close()


def test_homerec_serve_answers_a_normal_client_while_slow_clients_hang(world, tmp_path):
    """The real server (granian): 120 sockets dribbling bodies do not starve a client with a normal request."""
    url = copy_store(world, tmp_path / "homerec.db")
    server = HomerecServer(url, world["artifacts"], tmp_path, name="slow", env={
        "HOMEREC_API_KEYS": API_KEY, "HOMEREC_MAX_IN_FLIGHT": "8", "HOMEREC_READ_TIMEOUT_S": "3",
        "HOMEREC_RELOAD_INTERVAL_S": "0"})
    stalled: list[socket.socket] = []
    try:
        server.start()
        stalled = [open_stalled(server.base, headers={"x-api-key": API_KEY}) for _ in range(120)]
        with httpx.Client(base_url=server.base, timeout=10) as client:
            def normal(n: int) -> int:
                if n % 2:
                    return client.get(f"/v1/users/{world['cached_users'][n % 5]}/recommendations").status_code
                return client.post("/v1/events", headers={"x-api-key": API_KEY}, json={
                    "events": [{"user_id": f"normal-{n}", "item_id": world["item_ids"][n]}]}).status_code

            with ThreadPoolExecutor(4) as pool:
                assert list(pool.map(normal, range(20))) == [200] * 20
        codes = [status_of(s, 30) for s in stalled]
        assert codes == [408] * len(stalled), codes
    finally:
        for s in stalled:
            s.close()
        server.stop()
