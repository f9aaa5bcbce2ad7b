# SPDX-License-Identifier: Apache-2.0
"""Schemathesis over the app's own /openapi.json: every documented operation, valid and invalid data alike.

For each operation schemathesis builds Hypothesis strategies of positive cases (parameters and
bodies as the schemas describe them) and negative ones (each constraint broken); every case
is sent, with the API key, to a real server (uvicorn). No answer may be a 5xx, and a native 4xx
carries `{"error": message}`. Deterministic: Hypothesis derandomized, no example database.
(Schemathesis's own pytest plugin is not used: its lazy loader reads a pytest-internal attribute
that pytest 9 removed; its strategies are the public API.) `test_fuzz.py` adds hand-made hostile
mutations of the native routes, `test_fuzz_personalize.py` the Personalize routes.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig

from tests.live import serve_app
from tests.serving.conftest import API_KEY, copy_store, make_settings

EXAMPLES_PER_OPERATION = 12
CONFIG = """
[generation]
allow-x00 = true
"""


@pytest.fixture(scope="module")
def fuzz_server(world, tmp_path_factory):
    """A server over a private copy of the world's store (fuzzed writes and deletes stay there)."""
    url = copy_store(world, tmp_path_factory.mktemp("schemathesis") / "homerec.db")
    rules = {"shop": {"category_cap": 2, "rotation": {"shown": 3},
                      "boosts": [{"when": 'Items.BRAND IN ("Acme")', "positions": 2}]}}
    placements = {"home": {"rules": "shop"}, "plain": {}}
    with serve_app(make_settings(world, store_url=url, rules=rules, placements=placements)) as base:
        yield base


@pytest.fixture(scope="module")
def operations(fuzz_server):
    schema = schemathesis.openapi.from_url(f"{fuzz_server}/openapi.json", config=SchemathesisConfig.from_str(CONFIG))
    return [result.ok() for result in schema.get_all_operations()]


def test_every_native_route_is_fuzzed(operations):
    fuzzed = {(op.method.upper(), op.path) for op in operations}
    native = {("POST", "/v1/events"), ("POST", "/v1/users/{user_id}/ranking"), ("GET", "/v1/users/{user_id}/recommendations"),
              ("GET", "/v1/items/{item_id}/similar"), ("PUT", "/v1/items/{item_id}"), ("PUT", "/v1/users/{user_id}"),
              ("DELETE", "/v1/users/{user_id}"), ("POST", "/v1/admin/reload"), ("GET", "/readyz"), ("GET", "/metrics"),
              ("GET", "/v1/placements/{name}/users/{user_id}"), ("POST", "/v1/baskets/recommendations"),
              ("GET", "/v1/segments/items/{item_id}"), ("POST", "/v1/segments")}
    assert native <= fuzzed


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_documented_request_gets_a_5xx(operations, fuzz_server, mode):
    strategies = [op.as_strategy(generation_mode=mode) for op in operations]

    @settings(max_examples=EXAMPLES_PER_OPERATION * len(strategies), deadline=None, derandomize=True,
              database=None, suppress_health_check=list(HealthCheck))
    @given(case=st.one_of(strategies))
    def check(case) -> None:
        response = case.call(base_url=fuzz_server, headers={"x-api-key": API_KEY}, timeout=30)
        assert response.status_code < 500, (case.method, case.formatted_path, response.status_code, response.text[:300])
        if 400 <= response.status_code < 500 and case.path.startswith("/v1/"):
            assert isinstance(response.json().get("error"), str), response.text[:300]

    check()
