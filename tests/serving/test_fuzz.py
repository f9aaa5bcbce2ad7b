# SPDX-License-Identifier: Apache-2.0
"""Schema-driven fuzzing of every native route: whatever arrives, the answer is never a 5xx.

Requests are generated from the app's own /openapi.json: path ids, query parameters and JSON
bodies drawn from each operation's schemas, then mutated (wrong types, missing and unknown
fields, oversized lists, huge numbers, NaN, deep nesting, non-UTF-8 bytes, bad percent-escapes).
Every 4xx must carry an {"error": message} JSON body.
"""

import json
import string
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from homerec.serving import create_app
from tests.serving.conftest import API_KEY, copy_store, make_settings

MAX_EXAMPLES = 250


@pytest.fixture(scope="module")
def fuzz_client(world, tmp_path_factory):
    """An app over a private copy of the world's store (fuzzed writes and deletes stay there)."""
    url = copy_store(world, tmp_path_factory.mktemp("fuzz") / "homerec.db")
    app = create_app(make_settings(world, store_url=url))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _operations(doc: dict) -> list[tuple[str, str, dict]]:
    return [(path, method.upper(), op) for path, ops in sorted(doc["paths"].items())
            for method, op in sorted(ops.items()) if op["tags"] != ["other"] and path not in ("/docs",)]


# -- values ------------------------------------------------------------------------------------
huge_ints = st.sampled_from([2**31, 2**63, -(2**63) - 1, 10**30, -(10**400), 10**300])
numbers = st.one_of(st.integers(), huge_ints, st.floats(allow_nan=True, allow_infinity=True))
texts = st.one_of(st.text(max_size=40), st.text(alphabet=st.characters(codec="utf-8"), min_size=257, max_size=300),
                  st.sampled_from(["", " ", "\x00", "null", "NaN", "1e999", "-1", "0", "\ud800x"]))
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
junk = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=5),
                                                     st.dictionaries(texts, inner, max_size=5)), max_leaves=20)


def from_schema(schema: dict, components: dict, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values mostly shaped like `schema` (sometimes just outside its bounds), with junk mixed in."""
    if "$ref" in schema:
        return from_schema(components[schema["$ref"].rsplit("/", 1)[-1]], components, depth)
    if "anyOf" in schema:
        return st.one_of(*(from_schema(s, components, depth) for s in schema["anyOf"]))
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "string":
        lo, hi = schema.get("minLength", 0), schema.get("maxLength", 40)
        shaped = st.text(string.ascii_letters + string.digits + "-_é/ ", min_size=lo, max_size=min(hi, 40))
        return st.one_of(shaped, st.sampled_from(["u1", "i1", "purchase"]), texts)
    if kind in ("integer", "number"):
        lo, hi = schema.get("minimum"), schema.get("maximum")
        near = [v for b in (lo, hi) if b is not None for v in (b - 1, b, b + 1)]
        base = st.integers(lo, hi) if kind == "integer" else st.floats(lo, hi, allow_nan=False)
        return st.one_of(base, st.sampled_from(near or [0]), numbers)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        items = from_schema(schema.get("items", {}), components, depth + 1)
        hi = schema.get("maxItems")
        lists = st.lists(items, min_size=schema.get("minItems", 0), max_size=5)
        if hi is not None:  # one over the limit: the same item repeated, cheap to build
            lists = st.one_of(lists, items.map(lambda v, n=hi + 1: [v] * n))
        return lists
    if kind == "object" or "properties" in schema or "additionalProperties" in schema:
        props = schema.get("properties", {})
        required = set(schema.get("required", ()))
        fixed = {k: from_schema(v, components, depth + 1) for k, v in props.items() if k in required}
        optional = {k: from_schema(v, components, depth + 1) for k, v in props.items() if k not in required}
        shaped = st.fixed_dictionaries(fixed, optional=optional)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            shaped = st.dictionaries(st.text(max_size=10), from_schema(extra, components, depth + 1), max_size=5)
        mutated = st.tuples(shaped, st.dictionaries(texts, junk, max_size=2), st.sets(st.sampled_from(sorted(props) or [""])))
        return st.one_of(shaped, mutated.map(lambda t: {k: v for k, v in {**t[0], **t[1]}.items() if k not in t[2]}))
    return junk


def _q(text: str, safe: str) -> str:
    """Percent-encoded; a lone surrogate becomes bytes that are not UTF-8."""
    return quote(text, safe=safe, errors="surrogatepass")


def _encode(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


def body_strategy(op: dict, components: dict) -> st.SearchStrategy[bytes | None]:
    schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    raw = st.one_of(
        st.binary(max_size=64),
        st.sampled_from([b"", b"{", b"\xff\xfe\x00", b"[" * 100_000 + b"]" * 100_000, b'{"events": ' * 5000,
                         b"NaN", b"1" * 5000, b'{"events": [{"user_id": "u", "item_id": "i", "timestamp": ' + b"9" * 5000 + b"}]}", b"\"" + b"x" * (2 << 20) + b"\"", b"{\"events\": [\"\\ud800\"]}"]),
        junk.map(_encode),
    )
    if schema is None:
        return st.one_of(st.none(), raw)
    return st.one_of(from_schema(schema, components).map(_encode), raw)


def query_strategy(op: dict, components: dict) -> st.SearchStrategy[list[tuple[str, str]]]:
    params = [p for p in op["parameters"] if p["in"] == "query"]
    value = st.one_of(texts, numbers.map(str), st.sampled_from(["%ff", "%", "a,b,,c", "1,2", ",".join("x" * 600)]))
    pairs = [st.tuples(st.just(p["name"]), st.one_of(from_schema(p["schema"], components).map(
        lambda v: ",".join(map(str, v)) if isinstance(v, list) else str(v)), value)) for p in params]
    pairs.append(st.tuples(texts, value))
    return st.lists(st.one_of(*pairs), max_size=6)


path_ids = st.one_of(st.text(min_size=1, max_size=30).map(lambda s: _q(s, "")),
                     st.sampled_from(["u1", "i1", "%ff%fe", "%00", "%", "a%2Fb", "x" * 2000, ".."]),
                     st.text(string.ascii_letters, min_size=1, max_size=12))


def test_openapi_lists_the_operations_fuzzed(fuzz_client):
    ops = _operations(fuzz_client.get("/openapi.json").json())
    assert {(p, m) for p, m, _ in ops} >= {("/v1/events", "POST"), ("/v1/users/{user_id}/ranking", "POST"),
                                           ("/v1/users/{user_id}", "DELETE"), ("/v1/items/{item_id}", "PUT")}


@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(data=st.data())
def test_no_request_gets_a_5xx(fuzz_client, data):
    doc = fuzz_client.get("/openapi.json").json()
    components = doc["components"]["schemas"]
    path, method, op = data.draw(st.sampled_from(_operations(doc)), label="operation")
    url = path
    for p in op["parameters"]:
        if p["in"] == "path":
            url = url.replace("{" + p["name"] + "}", data.draw(path_ids, label=p["name"]))
    query = data.draw(query_strategy(op, components), label="query")
    if query:
        # Cut at 16 kB: longer URLs are refused by httpx (and by any HTTP server's request-line limit).
        url += "?" + "&".join(f"{_q(k, '%')}={_q(v, '%,')}" for k, v in query)[:16_000]
    body = data.draw(body_strategy(op, components), label="body")
    headers = {"x-api-key": API_KEY} if data.draw(st.integers(0, 9), label="key") else {}
    if body is not None:
        headers["content-type"] = data.draw(st.sampled_from(["application/json", "text/plain", "application/json; charset=latin-1"]))
    r = fuzz_client.request(method, url, content=body, headers=headers)
    assert r.status_code < 500 or (r.status_code == 503 and path == "/readyz"), (r.status_code, r.text[:300])
    if 400 <= r.status_code < 500:
        assert isinstance(r.json().get("error"), str), r.text[:300]
