# SPDX-License-Identifier: Apache-2.0
"""GET /openapi.json documents every route of the app; GET /docs renders it as plain HTML."""

import re

from starlette.routing import Mount, Route

from homerec.serving.openapi import OPERATIONS, build_document, iter_routes
from homerec.serving.schemas import EventsRequest, RankRequest


def test_every_route_of_the_app_is_in_the_document(client):
    r = client.get("/openapi.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    doc = r.json()
    assert doc["openapi"].startswith("3.1") and doc["info"]["title"] == "homerec"
    table = {(path, method) for path, method, _ in iter_routes(client.app.routes)}
    assert len(table) >= len(OPERATIONS)
    for path, method in table:
        assert method.lower() in doc["paths"].get(path, {}), f"{method} {path} missing from /openapi.json"
    documented = {(p, m.upper()) for p, ops in doc["paths"].items() for m in ops}
    assert documented == table  # and nothing that is not served
    # Every native operation has its full description (not the generic one of unknown routes).
    for path, method in OPERATIONS:
        assert (path, method) in table, f"{method} {path} is described but not served"
        op = doc["paths"][path][method.lower()]
        assert op["tags"] != ["other"] and "200" in op["responses"]
        for name in re.findall(r"{(\w+)}", path):
            assert {"name": name, "in": "path", "required": True}.items() <= next(
                p for p in op["parameters"] if p["name"] == name).items()


def test_native_operations_carry_the_pydantic_schemas(client):
    doc = client.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    events = doc["paths"]["/v1/events"]["post"]
    assert events["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/EventsRequest"}
    assert schemas["EventsRequest"]["properties"] == EventsRequest.model_json_schema(
        ref_template="#/components/schemas/{model}")["properties"]
    assert "Event" in schemas and schemas["Event"]["required"] == ["user_id", "item_id"]
    assert schemas["RankRequest"]["properties"]["item_ids"] == RankRequest.model_json_schema()["properties"]["item_ids"]
    assert events["security"] == [{"apiKey": []}]
    assert doc["components"]["securitySchemes"]["apiKey"] == {"type": "apiKey", "in": "header", "name": "x-api-key"}
    recs = doc["paths"]["/v1/users/{user_id}/recommendations"]["get"]
    params = {p["name"]: p for p in recs["parameters"]}
    assert set(params) == {"user_id", "num_results", "min_score", "exclude", "filter", "filter_name", "filter_values",
                           "include_seen"}
    assert params["num_results"]["schema"]["maximum"] == 500 and params["num_results"]["in"] == "query"
    assert params["exclude"]["explode"] is False
    assert recs["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/RecommendResponse")
    assert recs["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/Error")
    for put in ("/v1/items/{item_id}", "/v1/users/{user_id}"):
        body = doc["paths"][put]["put"]["requestBody"]["content"]["application/json"]["schema"]
        assert body == {"$ref": "#/components/schemas/Metadata"}
    assert "delete" in doc["paths"]["/v1/users/{user_id}"]
    # Every $ref points at a schema that is there.
    text = client.get("/openapi.json").text
    for name in re.findall(r'"#/components/schemas/([^"]+)"', text):
        assert name in schemas, name


def test_docs_page_lists_every_operation_without_external_assets(client):
    r = client.get("/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    doc = client.get("/openapi.json").json()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert f"id='{op['operationId']}'" in page, (method, path)
            assert f"<code>{path}</code>" in page
    assert "http://" not in page and "https://" not in page and "<script" not in page


def test_routes_outside_the_native_table_are_documented_too():
    async def adapter(request):
        """POST /recommendations: GetRecommendations of the Personalize runtime."""

    routes = [Route("/healthz", adapter, methods=["GET"]),
              Mount("/aws", routes=[Route("/recommendations/{x}", adapter, methods=["POST"])])]
    doc = build_document(routes)
    op = doc["paths"]["/aws/recommendations/{x}"]["post"]
    assert op["summary"].startswith("POST /recommendations") and op["tags"] == ["other"]
    assert op["parameters"][0]["name"] == "x"
    assert "get" in doc["paths"]["/healthz"]
