# SPDX-License-Identifier: Apache-2.0
"""The runtime and events APIs as migrating applications rely on them, through the real boto3 clients.

Scores on Personalize's scale (and the batch file's value for the same user and item),
metadataColumns, promotions, exclusion left to filters, lossless events, the actions
operations and numResults=0, against a server configured with one dataset group.
"""

import json
import time
from collections.abc import Iterator

import boto3
import httpx
import polars as pl
import pytest
from botocore.config import Config

from homerec.data.schema import Col
from homerec.models.registry import Registry
from homerec.pipeline.batch import run_batch
from homerec.storage import open_store
from tests.live import serve_app
from tests.serving.conftest import API_KEY, make_settings

AK, SECRET, REGION = "AKIAPZ", "pz-secret", "eu-west-1"
ARN = "arn:aws:personalize:eu-west-1:123456789012"
GROUP = f"{ARN}:dataset-group/shop"
CAMPAIGN = f"{ARN}:campaign/shop"  # Personalize's defaults: no exclusion, metadata allowed
NOT_BOUGHT = f"{ARN}:campaign/shop-new"  # leaves the user's own items out
NO_METADATA = f"{ARN}:campaign/shop-plain"
BUY_AGAIN = f"{ARN}:filter/buy-again"
BY_CATEGORY = f"{ARN}:filter/by-category"
NOT_CATEGORY = f"{ARN}:filter/not-category"
TRACKER = "shop-tracker"
NO_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"})


@pytest.fixture(scope="module")
def batch_file(world) -> dict[tuple[str, str], float]:
    """(user, item) → score from `homerec batch --format personalize` (k=25) over the world."""
    out = world["root"] / "pz-compat-batch.jsonl"
    store = open_store(world["store_url"])
    try:
        run_batch(store, Registry(world["artifacts"]), out, "personalize", k=25)
    finally:
        store.close()
    scores = {}
    for line in out.read_text().splitlines():
        doc = json.loads(line)
        for item, score in zip(doc["output"]["recommendedItems"], doc["output"].get("scores", [])):
            scores[(doc["input"]["userId"], item)] = score
    return scores


@pytest.fixture(scope="module")
def url(world, batch_file) -> Iterator[str]:
    group = {
        "arn": GROUP, "event_trackers": [TRACKER],
        "campaigns": {CAMPAIGN: {}, NOT_BOUGHT: {"exclude": "purchased"}, NO_METADATA: {"metadata": False}},
        "filters": {BUY_AGAIN: 'INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase")',
                    BY_CATEGORY: "INCLUDE ItemID WHERE Items.CATEGORY IN ($CATS)",
                    NOT_CATEGORY: "EXCLUDE ItemID WHERE Items.CATEGORY IN ($CATS)"},
    }
    with serve_app(make_settings(world, sigv4_keys={AK: SECRET}, dataset_groups=[group])) as base:
        yield base


def client(service: str, url: str):
    return boto3.client(service, endpoint_url=url, region_name=REGION, aws_access_key_id=AK,
                        aws_secret_access_key=SECRET, config=NO_RETRY)


@pytest.fixture(scope="module")
def runtime(url):
    return client("personalize-runtime", url)


@pytest.fixture(scope="module")
def events(url):
    return client("personalize-events", url)


@pytest.fixture(scope="module")
def store(world):
    s = open_store(world["store_url"])
    yield s
    s.close()


def _bought(store, user: str) -> set[str]:
    return set(store.history(user)[Col.item_id].to_list())


def _warm_user(store, world, n: int = 0) -> str:
    """A user with a few purchases (cached by the batch), the n-th such."""
    return [u for u in world["cached_users"] if 2 <= len(_bought(store, u)) <= 30][n]


# -- 1. scores as Personalize gives them ----------------------------------------------------------
def test_scores_are_relative_and_match_the_batch_file(runtime, store, world, batch_file):
    for user in world["cached_users"][:8]:
        for campaign in (NOT_BOUGHT, CAMPAIGN):
            # Without exclusion the user's own items come first: ask past them, so the lists overlap.
            n = 25 if campaign == NOT_BOUGHT else min(500, 25 + len(_bought(store, user)))
            got = runtime.get_recommendations(campaignArn=campaign, userId=user, numResults=n)["itemList"]
            scores = [i["score"] for i in got]
            assert all(0.0 < s <= 1.0 for s in scores) and sum(scores) <= 1.0
            assert scores == sorted(scores, reverse=True)  # the model's order
            shared = [(i["itemId"], i["score"]) for i in got if (user, i["itemId"]) in batch_file]
            if campaign == NOT_BOUGHT:  # the batch leaves seen items out too: the same list
                assert len(shared) == len(got)
            assert shared and all(s == pytest.approx(batch_file[(user, item)], rel=1e-4) for item, s in shared)


def test_fallback_and_related_items_carry_no_score(runtime, world):
    cold = runtime.get_recommendations(campaignArn=CAMPAIGN, userId="pz-never-seen", numResults=5)["itemList"]
    assert len(cold) == 5 and all("score" not in i and i["reason"] == ["Popular item"] for i in cold)
    related = runtime.get_recommendations(campaignArn=CAMPAIGN, itemId=world["item_ids"][0], numResults=5)["itemList"]
    assert len(related) == 5 and all("score" not in i for i in related)


def test_ranking_scores_sum_to_one_over_known_items(runtime, world):
    user = world["cached_users"][3]
    wanted = world["item_ids"][10:20] + ["pz-not-an-item"]
    ranked = runtime.get_personalized_ranking(campaignArn=CAMPAIGN, userId=user, inputList=wanted)
    items = ranked["personalizedRanking"]
    assert items[-1] == {"itemId": "pz-not-an-item", "score": 0.0}
    scores = [i["score"] for i in items[:-1]]
    assert scores == sorted(scores, reverse=True) and 0.999 < sum(scores) <= 1.0


def test_num_results_zero_answers_an_empty_list(runtime, world):
    r = runtime.get_recommendations(campaignArn=CAMPAIGN, userId=world["cached_users"][0], numResults=0)
    assert r["itemList"] == [] and 0 < len(r["recommendationId"]) <= 40


# -- 2. metadata and promotions -------------------------------------------------------------------
def test_metadata_columns(runtime, store, world):
    catalogue = {r[Col.item_id]: r for r in store.items().to_dicts()}
    user = world["cached_users"][1]
    got = runtime.get_recommendations(campaignArn=CAMPAIGN, userId=user, numResults=10,
                                      metadataColumns={"ITEMS": ["CATEGORY", "price"]})["itemList"]
    assert len(got) == 10
    for item in got:
        row = catalogue[item["itemId"]]
        assert item["metadata"] == {"CATEGORY": row["CATEGORY"], "price": row["PRICE"]}
    ranked = runtime.get_personalized_ranking(campaignArn=CAMPAIGN, userId=user, inputList=world["item_ids"][:3],
                                              metadataColumns={"ITEMS": ["BRAND"]})["personalizedRanking"]
    assert all(i["metadata"]["BRAND"] == catalogue[i["itemId"]]["BRAND"] for i in ranked)
    bad = [
        dict(campaignArn=CAMPAIGN, metadataColumns={"ITEMS": ["NO_SUCH_COLUMN"]}),
        dict(campaignArn=CAMPAIGN, metadataColumns={"ITEMS": ["CATEGORY"]}, numResults=51),
        dict(campaignArn=CAMPAIGN, metadataColumns={"USERS": ["SEGMENT"]}),
        dict(campaignArn=NO_METADATA, metadataColumns={"ITEMS": ["CATEGORY"]}),
        dict(campaignArn=CAMPAIGN, metadataColumns={"ITEMS": ["CATEGORY"] * 100}),
    ]
    for call in bad:
        with pytest.raises(runtime.exceptions.InvalidInputException):
            runtime.get_recommendations(userId=user, **call)


def test_promotions(runtime, store, world):
    categories = {r[Col.item_id]: r["CATEGORY"] for r in store.items().to_dicts()}
    user = world["cached_users"][2]
    category = "Plumbing"
    values = {"CATS": f'"{category}"'}
    promotion = {"name": "plumbing-week", "percentPromotedItems": 30, "filterArn": BY_CATEGORY, "filterValues": values}
    got = runtime.get_recommendations(campaignArn=CAMPAIGN, userId=user, numResults=10, promotions=[promotion],
                                      filterArn=NOT_CATEGORY, filterValues=values)["itemList"]
    promoted = [i for i in got if i.get("promotionName") == "plumbing-week"]
    others = [i for i in got if "promotionName" not in i]
    assert len(got) == 10 and len(promoted) == 3 and len({i["itemId"] for i in got}) == 10
    assert all(i["reason"] == ["Promoted item"] and categories[i["itemId"]] == category for i in promoted)
    assert all(categories[i["itemId"]] != category for i in others)  # the request's filter applies to the rest
    assert [i["score"] for i in promoted] == sorted((i["score"] for i in promoted), reverse=True)
    related = runtime.get_recommendations(campaignArn=CAMPAIGN, itemId=world["item_ids"][5], numResults=4,
                                          promotions=[{**promotion, "percentPromotedItems": 50}])["itemList"]
    assert sum(1 for i in related if i.get("promotionName")) == 2
    for bad in ({**promotion, "percentPromotedItems": 101}, {**promotion, "name": "-bad"},
                {"percentPromotedItems": 10, "filterArn": BY_CATEGORY, "filterValues": values}):
        with pytest.raises(runtime.exceptions.InvalidInputException):
            runtime.get_recommendations(campaignArn=CAMPAIGN, userId=user, promotions=[bad])
    with pytest.raises(runtime.exceptions.InvalidInputException):
        runtime.get_recommendations(campaignArn=CAMPAIGN, userId=user, promotions=[promotion, promotion])
    with pytest.raises(runtime.exceptions.ResourceNotFoundException):
        runtime.get_recommendations(campaignArn=CAMPAIGN, userId=user,
                                    promotions=[{**promotion, "filterArn": f"{ARN}:filter/none"}])


# -- 3. exclusion by filters, as on Personalize -----------------------------------------------------
def test_exclusion_is_left_to_filters_and_buy_again_works(runtime, store, world, url):
    user = _warm_user(store, world)
    bought = _bought(store, user)
    again = runtime.get_recommendations(campaignArn=CAMPAIGN, userId=user, numResults=50, filterArn=BUY_AGAIN)
    ids = [i["itemId"] for i in again["itemList"]]
    assert ids and set(ids) <= bought and len(ids) == min(50, len(bought))
    scores = [i["score"] for i in again["itemList"]]
    assert scores == sorted(scores, reverse=True)
    fresh = runtime.get_recommendations(campaignArn=NOT_BOUGHT, userId=user, numResults=50)["itemList"]
    assert not {i["itemId"] for i in fresh} & bought
    everything = runtime.get_recommendations(campaignArn=CAMPAIGN, userId=user, numResults=500)["itemList"]
    assert {i["itemId"] for i in everything} & bought  # no exclusion by default
    # The native API keeps leaving bought items out unless include_seen=true.
    native = httpx.get(f"{url}/v1/users/{user}/recommendations", params={"num_results": 50}).json()["items"]
    assert not {i["item_id"] for i in native} & bought
    expression = 'INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase")'
    seen = httpx.get(f"{url}/v1/users/{user}/recommendations",
                     params={"num_results": 50, "include_seen": "true", "filter": expression}).json()["items"]
    assert {i["item_id"] for i in seen} == set(ids)


# -- 5. events without loss -----------------------------------------------------------------------------
def _rows(store, sql: str, *args) -> list[tuple]:
    import sqlite3

    conn = sqlite3.connect(store.url.removeprefix("sqlite:///"))
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def test_events_keep_everything_they_carry(events, store, world):
    user, item = "pz-ev-user", world["item_ids"][7]
    now = int(time.time())
    event = {"eventType": "click", "itemId": item, "sentAt": now,
             "properties": json.dumps({"device": "mobile", "numberOfRatings": 3}),
             "impression": [item, world["item_ids"][8], world["item_ids"][9]],
             "metricAttribution": {"eventAttributionSource": "newsletter"}}
    events.put_events(trackingId=TRACKER, userId=user, sessionId="pz-s1", eventList=[event, event])
    events.put_events(trackingId=TRACKER, userId=user, sessionId="pz-s1",
                      eventList=[{**event, "eventId": "pz-e1"}, {**event, "eventId": "pz-e1"}])
    events.put_events(trackingId=TRACKER, userId=user, sessionId="pz-s1", eventList=[{**event, "eventId": "pz-e1"}])
    rows = _rows(store, "SELECT session_id, properties, impression, attribution FROM interactions WHERE user_id = ?", user)
    assert len(rows) == 3  # two without an eventId (fresh ids), one with (deduplicated)
    assert set(rows) == {("pz-s1", event["properties"], "|".join(event["impression"]), "newsletter")}
    shown = store.impressions().filter(pl.col(Col.user_id) == user)
    assert shown.height == 9 and shown.filter(pl.col(Col.chosen)).height == 3
    events.put_events(trackingId=TRACKER, userId=user, sessionId="pz-s1",
                      eventList=[{"eventType": "search", "sentAt": now, "properties": json.dumps({"q": "gloves"}),
                                  "impression": [world["item_ids"][1]]}])
    context = store.context_events(user_id=user)
    assert context.height == 1 and context[Col.properties][0] == '{"q": "gloves"}'
    assert context[Col.event_type][0] == "search"


def test_a_session_joins_its_user(events, runtime, store, world):
    session, user = "pz-anon-session", "pz-signed-in"
    items = world["item_ids"][20:23]
    events.put_events(trackingId=TRACKER, sessionId=session,
                      eventList=[{"eventType": "purchase", "itemId": i, "sentAt": int(time.time())} for i in items])
    assert _bought(store, session) == set(items)
    anonymous = runtime.get_recommendations(campaignArn=CAMPAIGN, userId=session, numResults=5)["itemList"]
    assert all("score" in i for i in anonymous)  # personalised from the session's events
    events.put_events(trackingId=TRACKER, userId=user, sessionId=session,
                      eventList=[{"eventType": "view", "itemId": world["item_ids"][30], "sentAt": int(time.time())}])
    assert _bought(store, user) == {*items, world["item_ids"][30]} and _bought(store, session) == set()
    again = runtime.get_recommendations(campaignArn=CAMPAIGN, userId=user, numResults=50, filterArn=BUY_AGAIN)
    assert {i["itemId"] for i in again["itemList"]} == set(items)


def test_unlisted_trackers_and_datasets_lose_nothing(events, store, world):
    events.put_events(trackingId="pz-unlisted-tracker", userId="pz-unlisted", sessionId="s",
                      eventList=[{"eventType": "purchase", "itemId": world["item_ids"][3], "sentAt": int(time.time())}])
    assert _bought(store, "pz-unlisted") == {world["item_ids"][3]}
    events.put_items(datasetArn=f"{ARN}:dataset/elsewhere/ITEMS",
                     items=[{"itemId": "pz-unlisted-item", "properties": json.dumps({"category": "Gloves"})}])
    assert "pz-unlisted-item" in store.items()[Col.item_id].to_list()
    with pytest.raises(events.exceptions.InvalidInputException):  # a dataset of the wrong type is still refused
        events.put_users(datasetArn=f"{ARN}:dataset/shop/ITEMS", users=[{"userId": "u"}])


# -- 6. every operation answers in AWS shape ----------------------------------------------------------
def test_actions_operations_answer_codes_botocore_maps(runtime, events):
    with pytest.raises(runtime.exceptions.ResourceNotFoundException) as err:
        runtime.get_action_recommendations(campaignArn=CAMPAIGN, userId="u", numResults=3)
    assert "GetRecommendations" in err.value.response["Error"]["Message"]
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.put_actions(datasetArn=f"{ARN}:dataset/shop/ACTIONS", actions=[{"actionId": "a1"}])
    with pytest.raises(events.exceptions.ResourceNotFoundException):
        events.put_action_interactions(trackingId=TRACKER, actionInteractions=[
            {"actionId": "a1", "sessionId": "s", "timestamp": 1_750_000_000, "eventType": "Taken"}])
    with pytest.raises(runtime.exceptions.InvalidInputException):
        runtime.get_action_recommendations(campaignArn=CAMPAIGN, userId="u", numResults=101)


def test_native_api_answers_stay_raw(url, world):
    r = httpx.get(f"{url}/v1/users/{world['cached_users'][0]}/recommendations", params={"num_results": 3}).json()
    assert all(set(i) == {"item_id", "score", "score10", "reason", "exploration"} for i in r["items"])
    assert API_KEY  # writes on this server still need it (make_settings)


@pytest.mark.slow
def test_homerec_serve_with_a_dataset_group_file_and_two_workers(world, tmp_path):
    """The configuration reaches every worker of `homerec serve` (handed down as HOMEREC_ variables)."""
    from tests.live import HomerecServer

    config = tmp_path / "homerec.toml"
    config.write_text(f'sigv4_keys = {{{AK} = "{SECRET}"}}\n[[dataset_groups]]\narn = "{GROUP}"\n'
                      f'[dataset_groups.campaigns."{NOT_BOUGHT}"]\nexclude = "purchased"\n')
    with HomerecServer(world["store_url"], world["artifacts"], tmp_path, args=["--workers", "2", "--config", str(config)]) as server:
        rt = client("personalize-runtime", server.base)
        for user in world["cached_users"][:6]:
            got = rt.get_recommendations(campaignArn=NOT_BOUGHT, userId=user, numResults=5)["itemList"]
            assert len(got) == 5 and all(0 < i["score"] <= 1 for i in got)
        with pytest.raises(rt.exceptions.ResourceNotFoundException):  # campaigns are listed: CAMPAIGN is not
            rt.get_recommendations(campaignArn=CAMPAIGN, userId=world["cached_users"][0])
