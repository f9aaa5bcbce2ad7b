# SPDX-License-Identifier: Apache-2.0
"""Placements and their business rules, through the HTTP API over the trained world.

The world's items get two more columns first: AVAILABLE (every fifth item "false") and
ASSORTMENT ("A" or "B"); one user is entitled to assortment A.
"""

import sqlite3

import boto3
import polars as pl
import pytest
from botocore.config import Config
from starlette.testclient import TestClient

from homerec.data.schema import NO_EXPERIMENT, Col
from homerec.errors import ConfigError
from homerec.serving import create_app
from homerec.storage import open_store
from tests.live import serve_app
from tests.serving.conftest import API_KEY, copy_store, make_settings

AVAILABLE = 'INCLUDE ItemID WHERE Items.AVAILABLE IN ("true")'
ENTITLED = 'INCLUDE ItemID WHERE Items.ASSORTMENT IN (CurrentUser.ASSORTMENT)'
RULES = {
    "noop": {},
    "storefront": {"filters": [AVAILABLE], "category_cap": 1},
    "entitled": {"filters": [ENTITLED]},
    "rotating": {"rotation": {"shown": 2, "days": 1}},
}
PLACEMENTS = {"plain": {}, "wide": {"rules": "noop"}, "home": {"rules": "storefront"},
              "entitled": {"rules": "entitled"}, "rotating": {"rules": "rotating"},
              "again": {"include_seen": True, "k": 7}}


@pytest.fixture(scope="module")
def shop(world) -> dict:
    """The world with AVAILABLE and ASSORTMENT on every item, and an entitled user."""
    store = open_store(world["store_url"])
    try:
        items = store.items().sort(Col.item_id)
        n = pl.int_range(pl.len())
        items = items.with_columns(pl.when(n % 5 == 0).then(pl.lit("false")).otherwise(pl.lit("true")).alias("AVAILABLE"),
                                   pl.when(n % 2 == 0).then(pl.lit("A")).otherwise(pl.lit("B")).alias("ASSORTMENT"))
        store.upsert_items(items)
        user = world["cached_users"][0]
        store.upsert_users(pl.DataFrame({Col.user_id: [user], "ASSORTMENT": ["A"]}))
    finally:
        store.close()
    return {**world, "items": items, "user": user}


def settings(shop: dict, rules: dict | None = None, placements: dict | None = None, **more):
    return make_settings(shop, rules=RULES if rules is None else rules,
                         placements=PLACEMENTS if placements is None else placements, **more)


@pytest.fixture(scope="module")
def client(shop) -> TestClient:
    with TestClient(create_app(settings(shop))) as c:
        yield c


def meta(shop: dict, column: str) -> dict[str, str]:
    return dict(zip(shop["items"][Col.item_id].to_list(), shop["items"][column].to_list()))


def get(client: TestClient, path: str) -> dict:
    response = client.get(path)
    assert response.status_code == 200, response.text
    return response.json()


def ids(body: dict) -> list[str]:
    return [i["item_id"] for i in body["items"]]


def test_a_placement_with_defaults_answers_as_the_plain_route(client, shop):
    for user in shop["cached_users"][1:6]:
        plain = get(client, f"/v1/users/{user}/recommendations?num_results=10")
        placed = get(client, f"/v1/placements/plain/users/{user}?num_results=10")
        assert placed["items"] == plain["items"] and placed["source"] == plain["source"] == "cache"
        assert placed["model_version"] == plain["model_version"]


def test_an_unknown_placement_is_a_404_naming_the_configured_ones(client, shop):
    response = client.get(f"/v1/placements/nope/users/{shop['user']}")
    assert response.status_code == 404
    assert "placement 'nope' is not configured" in response.json()["error"] and "home" in response.json()["error"]


def test_always_on_filters_and_the_category_cap(client, shop):
    available, category = meta(shop, "AVAILABLE"), meta(shop, "CATEGORY")
    for user in shop["cached_users"][:8]:
        body = get(client, f"/v1/placements/home/users/{user}?num_results=8")
        assert body["source"] in ("model", "fallback") and len(body["items"]) > 0
        assert all(available[i] == "true" for i in ids(body))
        values = [v for i in ids(body) for v in (category[i] or "").split("|") if v]
        assert len(values) == len(set(values)), values  # no CATEGORY value twice: the cap is 1


def test_an_entitled_assortment_through_the_users_attribute(client, shop):
    assortment = meta(shop, "ASSORTMENT")
    body = get(client, f"/v1/placements/entitled/users/{shop['user']}?num_results=10")
    assert len(body["items"]) == 10 and {assortment[i] for i in ids(body)} == {"A"}
    other = shop["cached_users"][3]  # no ASSORTMENT: entitled to nothing
    assert get(client, f"/v1/placements/entitled/users/{other}")["items"] == []


def test_boosts_move_items_a_bounded_number_of_places(shop):
    brand = meta(shop, "BRAND")
    user = shop["cached_users"][2]
    with TestClient(create_app(settings(shop))) as c:
        before = ids(get(c, f"/v1/placements/wide/users/{user}?num_results=20"))
    promoted = brand[before[10]]  # a brand that has an item well down the list
    rules = {**RULES, "noop": {"max_positions": 3, "boosts": [{"when": f'Items.BRAND IN ("{promoted}")',
                                                               "positions": 5, "label": f"brand {promoted}"}]}}
    with TestClient(create_app(settings(shop, rules=rules))) as c:
        after = get(c, f"/v1/placements/wide/users/{user}?num_results=20")["items"]
    assert sorted(r["item_id"] for r in after) == sorted(before)
    moved = 0
    for pos, r in enumerate(after):
        up = before.index(r["item_id"]) - pos
        if brand[r["item_id"]] == promoted:
            assert up <= 3
            if up > 0:
                assert r["reason"].endswith(f"; boosted: brand {promoted} (+{up})")
                moved += 1
        else:
            assert up <= 0 and "boosted" not in r["reason"]
    assert moved >= 1


def test_rotation_sinks_items_shown_without_a_click_and_exposures_carry_the_placement(client, shop):
    user = shop["cached_users"][5]
    exposures = client.app.state.runtime.exposures
    first = ids(get(client, f"/v1/placements/rotating/users/{user}?num_results=5"))
    assert ids(get(client, f"/v1/placements/rotating/users/{user}?num_results=5")) == first
    exposures.flush()
    third = get(client, f"/v1/placements/rotating/users/{user}?num_results=5")
    assert not set(ids(third)) & set(first)  # shown twice without a click: all five sink
    response = client.post("/v1/events", headers={"x-api-key": API_KEY},
                           json={"events": [{"user_id": user, "item_id": first[0], "event_type": "click"}]})
    assert response.status_code == 200
    fourth = ids(get(client, f"/v1/placements/rotating/users/{user}?num_results=5"))
    assert set(fourth) & set(first) <= {first[0]}  # the clicked item no longer sinks; the others still do
    exposures.flush()
    store = client.app.state.runtime.store
    logged = store.placement_exposures().filter((pl.col(Col.user_id) == user) & (pl.col(Col.placement) == "rotating"))
    assert logged.height == 4
    assert set(logged[Col.experiment].to_list()) == {NO_EXPERIMENT}
    assert logged[Col.ranked].to_list()[0] == first


def test_placement_settings_shape_the_request(client, shop):
    user = shop["user"]
    body = get(client, f"/v1/placements/again/users/{user}")
    assert len(body["items"]) == 7  # the placement's k
    assert len(get(client, f"/v1/placements/again/users/{user}?num_results=3")["items"]) == 3
    response = client.get(f"/v1/placements/home/users/{user}?num_results=0")
    assert response.status_code == 422


def test_a_rule_on_a_missing_column_stops_the_server_at_start(shop):
    rules = {"r": {"boosts": [{"when": 'Items.MARGN >= 0.3', "positions": 2}]}}
    with pytest.raises(ConfigError, match=r"placement 'home' \(rules.r\) refers to item field\(s\) MARGN"):
        with TestClient(create_app(settings(shop, rules=rules, placements={"home": {"rules": "r"}}))):
            pass


def test_a_personalize_recommender_maps_to_a_placement(shop):
    arn = "arn:aws:personalize:eu-west-1:123456789012:recommender/storefront"
    groups = [{"arn": "arn:aws:personalize:eu-west-1:123456789012:dataset-group/shop",
               "recommenders": {arn: {"placement": "home", "exclude": "purchased"}}}]
    available = meta(shop, "AVAILABLE")
    with serve_app(settings(shop, dataset_groups=groups, sigv4_keys={"AKIAHOMEREC": "secret"})) as url:
        runtime = boto3.client("personalize-runtime", endpoint_url=url, region_name="eu-west-1",
                               aws_access_key_id="AKIAHOMEREC", aws_secret_access_key="secret",
                               config=Config(retries={"max_attempts": 1, "mode": "standard"}))
        got = runtime.get_recommendations(recommenderArn=arn, userId=shop["cached_users"][4], numResults=8)
    items = [i["itemId"] for i in got["itemList"]]
    assert len(items) == 8 and all(available[i] == "true" for i in items)


def test_the_dashboard_shows_ctr_conversion_and_revenue_per_placement(shop, tmp_path):
    user = shop["cached_users"][6]
    private = copy_store(shop, tmp_path / "homerec.db")
    with sqlite3.connect(tmp_path / "homerec.db") as conn:
        conn.execute("DELETE FROM exposures")  # no other test's
    conn.close()
    with TestClient(create_app(settings(shop, store_url=private))) as c:
        lists = [get(c, f"/v1/placements/{name}/users/{user}?num_results=4") for name in ("home", "home", "plain")]
        home = lists[0]
        c.app.state.runtime.exposures.flush()
        events = [{"user_id": user, "item_id": home["items"][0]["item_id"], "event_type": "click",
                   "recommendation_id": home["recommendation_id"]},
                  {"user_id": user, "item_id": home["items"][1]["item_id"], "event_type": "purchase",
                   "event_value": 12.5, "recommendation_id": home["recommendation_id"]}]
        assert c.post("/v1/events", headers={"x-api-key": API_KEY}, json={"events": events}).status_code == 200
        body = c.get("/dashboard/api/placements", headers={"x-api-key": API_KEY}).json()
    rows = {r["placement"]: r for r in body["placements"]}
    assert list(rows)[: len(PLACEMENTS)] == list(PLACEMENTS)  # configured ones first, in their order
    assert (rows["home"]["exposures"], rows["home"]["clicks"], rows["home"]["purchases"]) == (2, 1, 1)
    assert rows["home"]["ctr"] == 0.5 and rows["home"]["conversion"] == 0.5 and rows["home"]["revenue"] == 12.5
    assert (rows["plain"]["exposures"], rows["plain"]["clicks"], rows["plain"]["ctr"]) == (1, 0, 0.0)
    assert rows["again"]["exposures"] == 0 and rows["again"]["ctr"] is None
