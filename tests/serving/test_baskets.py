# SPDX-License-Identifier: Apache-2.0
"""Basket completion over HTTP: the native POST /v1/baskets/recommendations and a Personalize
"frequently bought together" recommender (the real boto3 client), both the version's basket model."""

import shutil

import boto3
import polars as pl
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from starlette.testclient import TestClient

from homerec.data.schema import Col
from homerec.models.registry import PARTS_DIR, Registry
from homerec.serving import create_app
from homerec.serving.baskets import complements
from homerec.storage import open_store
from tests.live import serve_app
from tests.serving.conftest import API_KEY, make_settings

ROUTE = "/v1/baskets/recommendations"
GROUP = "arn:aws:personalize:eu-west-1:123456789012:dataset-group/shop"
FBT = "arn:aws:personalize:eu-west-1:123456789012:recommender/cart"
SHORT = "arn:aws:personalize:eu-west-1:123456789012:recommender/cart-short"
FOR_YOU = "arn:aws:personalize:eu-west-1:123456789012:recommender/for-you"


@pytest.fixture(scope="module")
def orders(world) -> dict:
    """A two-item cart from one real order, a repeat buyer, and the version's basket model."""
    with open_store(world["store_url"]) as store:
        frame = store.interactions()
        assert Col.order_id in frame.columns
        sizes = frame.group_by(Col.order_id).agg(pl.col(Col.item_id).unique().alias("items"), pl.first(Col.user_id))
        big = sizes.filter(pl.col("items").list.len() >= 3).sort(Col.order_id).row(0, named=True)
        buyers = frame.group_by(Col.user_id).len().sort(["len", Col.user_id], descending=True)[Col.user_id].to_list()
        histories = {u: store.history(u) for u in buyers[:20]}
    basket = Registry(world["artifacts"]).load_part("basket", world["version"])
    return {"cart": sorted(big["items"])[:2], "buyers": buyers[:20], "histories": histories, "basket": basket}


def _post(client, body: dict):
    return client.post(ROUTE, json=body)


def test_complements_never_list_the_cart_and_come_from_the_basket_model(client, world, orders):
    got = _post(client, {"items": orders["cart"], "num_results": 7})
    assert got.status_code == 200, got.text
    body = got.json()
    ids = [i["item_id"] for i in body["items"]]
    assert len(ids) == 7 and not set(ids) & set(orders["cart"])
    assert body["model_version"] == world["version"] and body["source"] == "model" and body["recommendation_id"]
    assert all(i["reason"].startswith("basket: ") for i in body["items"])
    assert ids == [r.item_id for r in orders["basket"].complete(orders["cart"], 7, now=0)]
    assert [i["score"] for i in body["items"]] == sorted((i["score"] for i in body["items"]), reverse=True)


def test_the_customers_history_feeds_the_habits_signal(client, orders):
    cart, changed = orders["cart"], 0
    for user in orders["buyers"]:
        got = _post(client, {"items": cart, "user_id": user, "num_results": 10}).json()["items"]
        expected = complements(orders["basket"], cart, 10, orders["histories"][user])
        assert [i["item_id"] for i in got] == [r.item_id for r in expected]
        changed += [i["item_id"] for i in got] != [i["item_id"] for i in _post(client, {"items": cart}).json()["items"]]
        assert not {i["item_id"] for i in got} & set(cart)
    assert changed, "no customer's history changed the list: the habits signal is not used"


def test_unknown_cart_items_are_ignored(client, orders):
    known = _post(client, {"items": orders["cart"]}).json()
    mixed = _post(client, {"items": [*orders["cart"], "no-such-item"]}).json()
    assert [i["item_id"] for i in mixed["items"]] == [i["item_id"] for i in known["items"]]
    alone = _post(client, {"items": ["no-such-item", "nor-this"]})
    assert alone.status_code == 200
    body = alone.json()
    assert body["source"] == "fallback" and len(body["items"]) == 10
    assert all(i["reason"] == "basket: popular" for i in body["items"])


def test_exclusions_are_honoured(client, orders):
    first = _post(client, {"items": orders["cart"], "num_results": 5}).json()["items"]
    again = _post(client, {"items": orders["cart"], "num_results": 5, "exclude": [first[0]["item_id"]]}).json()["items"]
    assert first[0]["item_id"] not in {i["item_id"] for i in again} and len(again) == 5


@pytest.mark.parametrize("body, status", [
    ({"items": []}, 422), ({"items": [f"i{n}" for n in range(101)]}, 422), ({"items": ["a"], "num_results": 0}, 422),
    ({"items": ["a"], "num_results": 101}, 422), ({"items": ["a"], "user_id": ""}, 422), ({"items": "a"}, 422),
    ({"items": ["a"], "surprise": 1}, 422), ({"items": ["a\x00b"]}, 422),
])
def test_bad_bodies_get_a_4xx(client, body, status):
    got = _post(client, body)
    assert got.status_code == status and isinstance(got.json()["error"], str)


def test_a_body_that_is_not_json_is_a_400(client):
    got = client.post(ROUTE, content=b"{nope", headers={"content-type": "application/json"})
    assert got.status_code == 400


@pytest.fixture(scope="module")
def old_version(world, tmp_path_factory) -> dict:
    """The world's registry as an older homerec wrote it: no basket and no segment model."""
    artifacts = shutil.copytree(world["artifacts"], tmp_path_factory.mktemp("old") / "artifacts")
    for part in ("basket", "segments"):
        shutil.rmtree(Registry(artifacts).info(world["version"]).path / PARTS_DIR / part)
    return {**world, "artifacts": artifacts}


def test_a_version_without_a_basket_model_is_a_409_that_says_so(old_version, orders):
    with TestClient(create_app(make_settings(old_version))) as c:
        got = _post(c, {"items": orders["cart"]})
        assert got.status_code == 409 and "no basket model" in got.json()["error"]
        assert "retrain" in got.json()["error"]
        segment = c.get(f"/v1/segments/items/{orders['cart'][0]}", headers={"x-api-key": API_KEY})
        assert segment.status_code == 409 and "no segment model" in segment.json()["error"]
        assert c.get(f"/v1/users/{orders['buyers'][0]}/recommendations").status_code == 200  # the rest serves


def _runtime(url: str):
    return boto3.client("personalize-runtime", endpoint_url=url, region_name="eu-west-1",
                        aws_access_key_id="AKIAHOMEREC", aws_secret_access_key="secret",
                        config=Config(retries={"max_attempts": 1, "mode": "standard"}))


def test_a_frequently_bought_together_recommender_answers_with_the_basket_model(world, orders, client):
    recommenders = {FBT: {"recipe": "arn:aws:personalize:::recipe/aws-ecomm-frequently-bought-together"},
                    SHORT: {"recipe": "frequently-bought-together"}, FOR_YOU: {}}
    groups = [{"arn": GROUP, "recommenders": recommenders}]
    item, user = orders["cart"][0], orders["buyers"][0]
    native = [i["item_id"] for i in _post(client, {"items": [item], "num_results": 6}).json()["items"]]
    as_user = [i["item_id"] for i in _post(client, {"items": [item], "user_id": user, "num_results": 6}).json()["items"]]
    with serve_app(make_settings(world, dataset_groups=groups, sigv4_keys={"AKIAHOMEREC": "secret"})) as url:
        runtime = _runtime(url)
        got = runtime.get_recommendations(recommenderArn=FBT, itemId=item, numResults=6)
        assert [i["itemId"] for i in got["itemList"]] == native and got["recommendationId"]
        short = runtime.get_recommendations(recommenderArn=SHORT, itemId=item, userId=user, numResults=6)
        assert [i["itemId"] for i in short["itemList"]] == as_user
        similar = runtime.get_recommendations(recommenderArn=FOR_YOU, itemId=item, numResults=6)
        assert [i["itemId"] for i in similar["itemList"]] != native  # a plain recommender: related items
        with pytest.raises(ClientError) as err:
            runtime.get_recommendations(recommenderArn=FBT, userId=user)
        assert err.value.response["Error"]["Code"] == "InvalidInputException" and "itemId" in str(err.value)
        control = boto3.client("personalize", endpoint_url=url, region_name="eu-west-1",
                               aws_access_key_id="AKIAHOMEREC", aws_secret_access_key="secret")
        described = control.describe_recommender(recommenderArn=SHORT)["recommender"]
        assert described["recipeArn"] == "arn:aws:personalize:::recipe/aws-ecomm-frequently-bought-together"
