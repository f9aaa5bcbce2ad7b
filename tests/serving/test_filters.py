# SPDX-License-Identifier: Apache-2.0
"""Personalize filter expressions through the native and boto3 APIs (the package itself: tests/filters)."""

import json
import time

import pytest
from starlette.testclient import TestClient

from homerec.serving import create_app
from homerec.settings import Settings
from homerec.storage import open_store
from tests.serving.conftest import API_KEY, make_settings
from tests.live import serve_app as serve
from tests.serving.test_personalize_boto3 import AK, CAMPAIGN, SECRET, TRACKER
from tests.serving.test_personalize_boto3 import client as boto_client

NOT_BOUGHT = 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase")'
BY_CATEGORY = "INCLUDE ItemID WHERE Items.CATEGORY IN ($CATS)"


# -- parser ------------------------------------------------------------------------------------

def test_settings_filters_from_env(monkeypatch):
    monkeypatch.setenv("HOMEREC_FILTERS", json.dumps({"arn:x": NOT_BOUGHT}))
    assert Settings().filters == {"arn:x": NOT_BOUGHT}
    from homerec.errors import ConfigError
    from homerec.serving.app import check_filters

    with pytest.raises(ConfigError, match="expected WHERE"):
        check_filters(Settings(filters={"bad": "EXCLUDE ItemID Items.A IN (\"x\")"}))


# -- through the native API --------------------------------------------------------------------
@pytest.fixture(scope="module")
def app(world):
    settings = make_settings(world, filters={"not-bought": NOT_BOUGHT, "by-category": BY_CATEGORY})
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture(scope="module")
def categories(world) -> dict[str, set[str]]:
    """item id → its set of categories."""
    store = open_store(world["store_url"])
    try:
        items = store.items()
    finally:
        store.close()
    return {r["item_id"]: set((r["CATEGORY"] or "").split("|")) for r in items.iter_rows(named=True)}


def _ids(r) -> list[str]:
    assert r.status_code == 200, r.text
    return [i["item_id"] for i in r.json()["items"]]


def test_native_category_filter_changes_the_list(app, world, categories):
    user = world["cached_users"][1]
    plain = _ids(app.get(f"/v1/users/{user}/recommendations", params={"num_results": 10}))
    # a category that is not among the unfiltered top items' first category
    counts: dict[str, int] = {}
    for cats in categories.values():
        for c in cats:
            counts[c] = counts.get(c, 0) + 1
    target = next(c for c, _ in sorted(counts.items(), key=lambda kv: -kv[1])
                  if not any(c in categories[i] for i in plain))
    expr = f'INCLUDE ItemID WHERE Items.CATEGORY IN ("{target}")'
    got = _ids(app.get(f"/v1/users/{user}/recommendations", params={"num_results": 10, "filter": expr}))
    assert got and got != plain and all(target in categories[i] for i in got)
    named = _ids(app.get(f"/v1/users/{user}/recommendations", params={
        "num_results": 10, "filter_name": "by-category", "filter_values": json.dumps({"CATS": f'"{target}"'})}))
    assert named == got
    as_list = _ids(app.get(f"/v1/users/{user}/recommendations", params={
        "num_results": 10, "filter_name": "by-category", "filter_values": json.dumps({"CATS": [target]})}))
    assert as_list == got


def test_native_interactions_filter_is_real_time(app, world):
    user = "filter-buyer"
    headers = {"x-api-key": API_KEY}
    first = _ids(app.get(f"/v1/users/{user}/recommendations", params={"filter_name": "not-bought"}))
    bought = first[0]
    r = app.post("/v1/events", json={"events": [{"user_id": user, "item_id": bought, "event_type": "purchase"}]},
                 headers=headers)
    assert r.status_code == 200
    after = _ids(app.get(f"/v1/users/{user}/recommendations", params={"filter_name": "not-bought"}))
    assert bought not in after and len(after) == 10
    # only items the user interacted with: all seen items are excluded from recommendations, so none left
    touched = 'INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")'
    assert _ids(app.get(f"/v1/users/{user}/recommendations", params={"filter": touched})) == []


@pytest.mark.parametrize("params, message", [
    ({"filter": "EXCLUDE ItemID WHER"}, "expected WHERE"),
    ({"filter_name": "nope"}, "not configured"),
    ({"filter_name": "by-category"}, "missing"),
    ({"filter_name": "by-category", "filter_values": "{not json"}, "not valid JSON"),
    ({"filter_name": "by-category", "filter_values": '{"CATS": {"a": 1}}'}, "JSON object"),
    ({"filter_name": "by-category", "filter_values": '{"CATS": "shoes"}'}, "quoted"),
    ({"filter": NOT_BOUGHT, "filter_name": "not-bought"}, "not both"),
    ({"filter_values": '{"A": "\\"x\\""}'}, "without filter"),
    ({"filter": 'INCLUDE ItemID WHERE Items.NOPE IN ("x")'}, "no field"),
])
def test_native_bad_filters_are_4xx(app, world, params, message):
    r = app.get(f"/v1/users/{world['cached_users'][0]}/recommendations", params=params)
    assert r.status_code == 422 and message in r.json()["error"], r.text


# -- through boto3 -----------------------------------------------------------------------------
FILTER_ARN = "arn:aws:personalize:eu-west-1:123456789012:filter/by-category"
NOT_BOUGHT_ARN = "arn:aws:personalize:eu-west-1:123456789012:filter/not-bought"
UNKNOWN_FILTER = "arn:aws:personalize:eu-west-1:123456789012:filter/nope"


@pytest.fixture(scope="module")
def boto(world):
    settings = make_settings(world, sigv4_keys={AK: SECRET}, campaigns={CAMPAIGN: "active", TRACKER: "active"},
                             filters={FILTER_ARN: BY_CATEGORY, NOT_BOUGHT_ARN: NOT_BOUGHT})
    with serve(settings) as url:
        yield boto_client("personalize-runtime", url), boto_client("personalize-events", url)


def test_boto3_filter_arn_and_values(boto, world, categories):
    runtime, events = boto
    user = world["cached_users"][2]
    target = "|".join(sorted(categories[world["item_ids"][0]])).split("|")[0]
    r = runtime.get_recommendations(campaignArn=CAMPAIGN, userId=user, numResults=8, filterArn=FILTER_ARN,
                                    filterValues={"CATS": f'"{target}"'})
    got = [i["itemId"] for i in r["itemList"]]
    assert got and all(target in categories[i] for i in got)
    similar = runtime.get_recommendations(campaignArn=CAMPAIGN, itemId=world["item_ids"][1], numResults=5,
                                          filterArn=FILTER_ARN, filterValues={"CATS": f'"{target}"'})
    assert all(target in categories[i["itemId"]] for i in similar["itemList"])
    with pytest.raises(runtime.exceptions.ResourceNotFoundException):
        runtime.get_recommendations(campaignArn=CAMPAIGN, userId=user, filterArn=UNKNOWN_FILTER)
    with pytest.raises(runtime.exceptions.InvalidInputException, match="missing"):
        runtime.get_recommendations(campaignArn=CAMPAIGN, userId=user, filterArn=FILTER_ARN)
    with pytest.raises(runtime.exceptions.InvalidInputException, match="quoted"):
        runtime.get_recommendations(campaignArn=CAMPAIGN, userId=user, filterArn=FILTER_ARN,
                                    filterValues={"CATS": "unquoted text"})


def test_boto3_ranking_drops_just_bought_item(boto, world):
    runtime, events = boto
    user = "filter-boto-buyer"
    bought, other = world["item_ids"][5], world["item_ids"][6]
    r = runtime.get_personalized_ranking(campaignArn=CAMPAIGN, userId=user, inputList=[bought, other],
                                         filterArn=NOT_BOUGHT_ARN)
    assert {i["itemId"] for i in r["personalizedRanking"]} == {bought, other}
    events.put_events(trackingId=TRACKER, userId=user, sessionId="s-f",
                      eventList=[{"eventType": "Purchase", "sentAt": int(time.time()) + 3600, "itemId": bought}])
    r = runtime.get_personalized_ranking(campaignArn=CAMPAIGN, userId=user, inputList=[bought, other],
                                         filterArn=NOT_BOUGHT_ARN)
    assert [i["itemId"] for i in r["personalizedRanking"]] == [other]
