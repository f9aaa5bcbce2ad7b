# SPDX-License-Identifier: Apache-2.0
"""Hypothesis-driven requests to the Personalize routes: signed by botocore's SigV4 signer, and unsigned.

Bodies are drawn from each operation's own pydantic schema (`personalize_schemas`), mostly well
shaped and sometimes just outside it, with hostile values mixed in (NUL and control characters,
257-character ids, NaN and 1e400, deep nesting, JSON-in-string `properties` that are not JSON
objects), and sent signed (valid signatures), signed for another body (forged), unsigned with
and without the API key. No answer may be a 5xx; every 4xx is in the AWS error format.
"""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from homerec.serving import create_app
from homerec.serving import personalize_schemas as ps
from tests.serving.conftest import API_KEY, copy_store, make_settings
from tests.serving.signing import AK, CAMPAIGN, DATASET_ITEMS, DATASET_USERS, SECRET, signed_headers
from tests.serving.test_fuzz import from_schema, junk, numbers, texts

MAX_EXAMPLES = 300
OPERATIONS = {"/recommendations": ps.GetRecommendations, "/personalize-ranking": ps.GetPersonalizedRanking,
              "/events": ps.PutEvents, "/items": ps.PutItems, "/users": ps.PutUsers}
AUTH = ("signed", "forged", "unsigned-key", "unsigned")


@pytest.fixture(scope="module")
def personalize_client(world, tmp_path_factory):
    """Signed and unsigned mode at once: SigV4 keys, unsigned requests accepted, API keys for unsigned writes."""
    url = copy_store(world, tmp_path_factory.mktemp("fuzz-personalize") / "homerec.db")
    settings_ = make_settings(world, store_url=url, sigv4_keys={AK: SECRET}, personalize_unsigned=True)
    with TestClient(create_app(settings_), raise_server_exceptions=False) as client:
        yield client


json_in_string = st.one_of(texts, st.dictionaries(texts, junk, max_size=4).map(json.dumps),
                           st.sampled_from(['{"a": ' + "[" * 1000 + "]" * 1000 + "}", '{"userId": "x"}', "[]",
                                            '{"a": NaN}', '{"a": 1e400}', '{"\\u0000": 1}', '{"a": {"b": 1}}']))


def mostly(valid: st.SearchStrategy, hostile: st.SearchStrategy, share: int = 3) -> st.SearchStrategy:
    """`valid` `share` times in `share + 1` (one_of would merge repeated branches into one)."""
    return st.integers(0, share).flatmap(lambda n: valid if n < share else hostile)


def well_formed(path: str, users: list[str], items: list[str]) -> st.SearchStrategy[dict]:
    """Bodies that pass the schema most of the time, so the handlers and the store are reached."""
    user = mostly(st.sampled_from(users), texts)
    item = mostly(st.sampled_from(items), texts)
    optional = {"numResults": mostly(st.integers(1, 500), st.integers(-1, 600)),
                "filterArn": st.just(CAMPAIGN.replace("campaign", "filter")),
                "context": st.dictionaries(mostly(st.just("DEVICE"), texts), texts, max_size=2)}
    if path == "/recommendations":
        return st.one_of(st.fixed_dictionaries({"campaignArn": st.just(CAMPAIGN), "userId": user}),
                         st.fixed_dictionaries({"campaignArn": st.just(CAMPAIGN), "itemId": item}),
                         st.fixed_dictionaries({"campaignArn": st.just(CAMPAIGN)},
                                               optional={"userId": user, "itemId": item, **optional}))
    if path == "/personalize-ranking":
        return st.fixed_dictionaries({"campaignArn": st.just(CAMPAIGN), "userId": user,
                                      "inputList": st.lists(item, min_size=1, max_size=8)})
    if path == "/events":
        event = st.fixed_dictionaries(
            {"eventType": mostly(st.sampled_from(["click", "purchase"]), texts),
             "sentAt": mostly(st.integers(1_700_000_000, 1_790_000_000), numbers), "itemId": item},
            optional={"eventValue": numbers, "properties": json_in_string, "eventId": texts,
                      "recommendationId": texts, "impression": st.lists(item, min_size=1, max_size=3)})
        return st.fixed_dictionaries({"trackingId": st.just("tracker"), "sessionId": user,
                                      "eventList": st.lists(event, min_size=1, max_size=3)}, optional={"userId": user})
    key, dataset = ("items", DATASET_ITEMS) if path == "/items" else ("users", DATASET_USERS)
    record = st.fixed_dictionaries({"itemId" if key == "items" else "userId": item if key == "items" else user},
                                   optional={"properties": json_in_string})
    return st.fixed_dictionaries({"datasetArn": st.just(dataset), key: st.lists(record, min_size=1, max_size=3)})


def body_for(path: str, users: list[str], items: list[str]) -> st.SearchStrategy[bytes]:
    """Well-formed bodies, bodies shaped by the operation's schema, and raw bytes."""
    schema = OPERATIONS[path].model_json_schema()
    shaped = from_schema(schema, schema.get("$defs", {}))
    raw = st.one_of(st.binary(max_size=64), st.sampled_from([b"", b"{", b"\xff", b"NaN", b"[" * 5000, b"{}"]))
    encode = lambda v: json.dumps(v, allow_nan=True).encode()  # noqa: E731
    sprinkled = st.tuples(shaped, json_in_string).map(lambda t: _sprinkle(t[0], t[1]))
    return mostly(well_formed(path, users, items).map(encode), st.one_of(shaped.map(encode), sprinkled, raw), 2)


def _sprinkle(value: object, properties: str) -> bytes:
    """Put a drawn `properties` string into every event, item or user record of a shaped body."""
    if isinstance(value, dict):
        for key in ("eventList", "items", "users"):
            records = value.get(key)
            if isinstance(records, list):
                for record in records:
                    if isinstance(record, dict):
                        record["properties"] = properties
    return json.dumps(value, allow_nan=True).encode()


@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_no_personalize_request_gets_a_5xx(personalize_client, world, data):
    path = data.draw(st.sampled_from(sorted(OPERATIONS)), label="operation")
    body = data.draw(body_for(path, world["cached_users"][:20], world["item_ids"][:20]), label="body")
    auth = data.draw(st.sampled_from(AUTH), label="auth")
    headers = {"content-type": "application/json"}
    if auth == "signed":
        headers.update(signed_headers(f"http://testserver{path}", body))
    elif auth == "forged":
        headers.update(signed_headers(f"http://testserver{path}", body + b" "))
    elif auth == "unsigned-key":
        headers["x-api-key"] = API_KEY
    r = personalize_client.post(path, content=body, headers=headers)
    assert r.status_code < 500, (path, auth, body[:200], r.status_code, r.text[:300])
    if r.status_code >= 400:
        error = r.json()
        assert isinstance(error.get("__type"), str) and isinstance(error.get("message"), str), r.text[:300]
        assert r.headers["x-amzn-errortype"] == error["__type"] and r.headers["x-amzn-requestid"]
    else:
        assert isinstance(r.json(), dict) and auth in ("signed", "unsigned-key", "unsigned")
    if auth == "forged" and body:
        assert r.status_code in (400, 403, 413), r.text[:300]
