# SPDX-License-Identifier: Apache-2.0
"""The real boto3 Personalize clients against a running uvicorn server (endpoint_url only changed)."""

import json
import time
from collections.abc import Iterator

import boto3
import botocore
import pytest
from botocore.config import Config

from homerec.storage import open_store
from tests.serving.conftest import API_KEY, make_settings
from tests.live import serve_app

AK, SECRET = "AKIAHOMEREC", "s3cr3t/with+chars"
REGION = "eu-west-1"
CAMPAIGN = "arn:aws:personalize:eu-west-1:123456789012:campaign/shop"
PINNED = "arn:aws:personalize:eu-west-1:123456789012:campaign/pinned"
BROKEN = "arn:aws:personalize:eu-west-1:123456789012:campaign/broken"
RECOMMENDER = "arn:aws:personalize:eu-west-1:123456789012:recommender/for-you"
TRACKER = "0b1c2d3e-tracker"
ITEMS_DS = "arn:aws:personalize:eu-west-1:123456789012:dataset/shop/ITEMS"
USERS_DS = "arn:aws:personalize:eu-west-1:123456789012:dataset/shop/USERS"
UNKNOWN = "arn:aws:personalize:eu-west-1:123456789012:campaign/nope"
NOT_BOUGHT = "arn:aws:personalize:eu-west-1:123456789012:filter/not-bought"
NO_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"})


@pytest.fixture(scope="module")
def base(world) -> Iterator[str]:
    """Signed server: keys, campaign map and the /base prefix."""
    campaigns = {CAMPAIGN: "active", PINNED: world["version"], BROKEN: "v-does-not-exist", RECOMMENDER: "active",
                 TRACKER: "active", ITEMS_DS: "active", USERS_DS: "active"}
    filters = {NOT_BOUGHT: 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase")'}
    with serve_app(make_settings(world, sigv4_keys={AK: SECRET}, campaigns=campaigns, filters=filters,
                                 personalize_prefix="base")) as url:
        yield url


def client(service: str, url: str, secret: str = SECRET, config: Config = NO_RETRY):
    return boto3.client(service, endpoint_url=url, region_name=REGION, aws_access_key_id=AK,
                        aws_secret_access_key=secret, config=config)


@pytest.fixture(scope="module")
def runtime(base):
    return client("personalize-runtime", base)


@pytest.fixture(scope="module")
def events(base):
    return client("personalize-events", base)


def ids(items: list[dict]) -> list[str]:
    return [i["itemId"] for i in items]


def test_recommendations_for_user(runtime, world):
    r = runtime.get_recommendations(campaignArn=CAMPAIGN, userId=world["cached_users"][-1], numResults=7)
    assert len(r["itemList"]) == 7 and all(isinstance(i["score"], float) for i in r["itemList"])
    assert 0 < len(r["recommendationId"]) <= 40
    assert r["ResponseMetadata"]["RequestId"]
    default = runtime.get_recommendations(recommenderArn=RECOMMENDER, userId=world["cached_users"][-1])
    assert len(default["itemList"]) == 25
    pinned = runtime.get_recommendations(campaignArn=PINNED, userId=world["cached_users"][-1], numResults=7)
    assert ids(pinned["itemList"]) == ids(r["itemList"])


def test_similar_items(runtime, world):
    item = world["item_ids"][0]
    r = runtime.get_recommendations(campaignArn=CAMPAIGN, itemId=item, numResults=5)
    assert len(r["itemList"]) == 5 and item not in ids(r["itemList"])
    cold = runtime.get_recommendations(campaignArn=CAMPAIGN, itemId="never-seen-item", numResults=5)
    assert len(cold["itemList"]) == 5


def test_personalized_ranking(runtime, world):
    wanted = world["item_ids"][30:36] + ["not-an-item"]
    r = runtime.get_personalized_ranking(campaignArn=CAMPAIGN, userId=world["cached_users"][-2], inputList=wanted)
    ranked = ids(r["personalizedRanking"])
    assert sorted(ranked) == sorted(wanted) and ranked[-1] == "not-an-item"
    assert len(r["recommendationId"]) <= 40


def test_put_events_excludes_bought_item(runtime, events, world):
    """With the usual not-bought filter (Personalize leaves exclusion to filters), a purchase leaves the next list."""
    user = world["cached_users"][-3]
    first = runtime.get_recommendations(campaignArn=CAMPAIGN, userId=user, numResults=10, filterArn=NOT_BOUGHT)
    top = first["itemList"][0]["itemId"]
    event = {"eventId": "pz-ev-1", "eventType": "purchase", "itemId": top, "sentAt": time.time(),
             "properties": json.dumps({"numberOfRatings": "3"}), "recommendationId": first["recommendationId"],
             "impression": ids(first["itemList"])}
    r = events.put_events(trackingId=TRACKER, userId=user, sessionId="s-1", eventList=[event])
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200 and r["ResponseMetadata"]["RequestId"]
    events.put_events(trackingId=TRACKER, userId=user, sessionId="s-1", eventList=[event])  # retried: no double
    after = runtime.get_recommendations(campaignArn=CAMPAIGN, userId=user, numResults=10, filterArn=NOT_BOUGHT)
    assert top not in ids(after["itemList"]) and len(after["itemList"]) == 10
    store = open_store(world["store_url"])
    try:
        hist = store.history(user)
        assert hist.filter(hist["item_id"] == top).height == 1
    finally:
        store.close()


def test_put_items_and_users(events, world):
    events.put_items(datasetArn=ITEMS_DS, items=[
        {"itemId": "pz-new-item", "properties": json.dumps({"categoryL1": "Shoes", "price": 12.5, "tags": ["a", "b"]})},
        {"itemId": "pz-bare-item"},
    ])
    events.put_users(datasetArn=USERS_DS, users=[{"userId": "pz-user", "properties": json.dumps({"segment": "pro"})}])
    store = open_store(world["store_url"])
    try:
        items = store.items()
        row = items.filter(items["item_id"] == "pz-new-item").to_dicts()[0]
        assert row["CATEGORY_L1"] == "Shoes" and row["PRICE"] == "12.5" and row["TAGS"] == "a|b"
        users = store.users()
        assert users.filter(users["user_id"] == "pz-user").to_dicts()[0]["SEGMENT"] == "pro"
    finally:
        store.close()


def test_invalid_input(runtime, events, world):
    user = world["cached_users"][-1]
    ev = {"eventType": "click", "itemId": world["item_ids"][1], "sentAt": 1_750_000_000}
    bad_calls = [
        lambda: runtime.get_recommendations(campaignArn=CAMPAIGN, userId=user, numResults=501),
        lambda: runtime.get_recommendations(campaignArn=CAMPAIGN, userId="u" * 300),
        lambda: runtime.get_recommendations(campaignArn="notanarn", userId=user),
        lambda: runtime.get_recommendations(campaignArn=CAMPAIGN),
        lambda: runtime.get_recommendations(campaignArn=CAMPAIGN, recommenderArn=RECOMMENDER, userId=user),
        lambda: runtime.get_personalized_ranking(campaignArn=CAMPAIGN, userId=user, inputList=["x"] * 501),
        lambda: events.put_events(trackingId=TRACKER, sessionId="s", eventList=[ev] * 11),
        lambda: events.put_events(trackingId=TRACKER, sessionId="s", eventList=[{**ev, "properties": "{not json"}]),
        lambda: events.put_events(trackingId=TRACKER, sessionId="s",
                                  eventList=[{**ev, "properties": json.dumps({"userId": "x"})}]),
        lambda: events.put_events(trackingId=TRACKER, sessionId="s", eventList=[{**ev, "recommendationId": "r" * 41}]),
        lambda: events.put_items(datasetArn=ITEMS_DS, items=[{"itemId": f"i{n}"} for n in range(11)]),
        lambda: events.put_users(datasetArn=ITEMS_DS, users=[{"userId": "u"}]),
    ]
    for call in bad_calls:
        with pytest.raises((runtime.exceptions.InvalidInputException, events.exceptions.InvalidInputException)) as err:
            call()
        resp = err.value.response
        assert resp["ResponseMetadata"]["HTTPStatusCode"] == 400 and resp["ResponseMetadata"]["RequestId"]
        assert resp["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == "InvalidInputException"
        assert resp["Error"]["Message"]


def test_resource_not_found(runtime, events, world):
    user = world["cached_users"][-1]
    filter_arn = "arn:aws:personalize:eu-west-1:123456789012:filter/no-such-filter"
    calls = [
        lambda: runtime.get_recommendations(campaignArn=UNKNOWN, userId=user),
        lambda: runtime.get_recommendations(campaignArn=CAMPAIGN, userId=user, filterArn=filter_arn),
        lambda: runtime.get_recommendations(campaignArn=BROKEN, userId=user),
        lambda: runtime.get_personalized_ranking(campaignArn=UNKNOWN, userId=user, inputList=["a"]),
    ]  # unknown trackers and datasets are accepted (nothing an application sends is dropped): test_personalize_compat
    for call in calls:
        with pytest.raises((runtime.exceptions.ResourceNotFoundException,
                            events.exceptions.ResourceNotFoundException)) as err:
            call()
        assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_bad_secret_and_unsigned_rejected(base, world):
    bad = client("personalize-runtime", base, secret="wrong")
    with pytest.raises(botocore.exceptions.ClientError) as err:
        bad.get_recommendations(campaignArn=CAMPAIGN, userId=world["cached_users"][-1])
    assert err.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    unsigned = boto3.client("personalize-runtime", endpoint_url=base, region_name=REGION,
                            config=Config(signature_version=botocore.UNSIGNED, retries={"max_attempts": 1}))
    with pytest.raises(botocore.exceptions.ClientError) as err:
        unsigned.get_recommendations(campaignArn=CAMPAIGN, userId=world["cached_users"][-1])
    assert err.value.response["Error"]["Code"] == "MissingAuthenticationTokenException"


def test_endpoint_with_path_prefix(base, world):
    runtime = client("personalize-runtime", f"{base}/base")
    r = runtime.get_recommendations(campaignArn=CAMPAIGN, userId=world["cached_users"][-1], numResults=3)
    assert len(r["itemList"]) == 3
    events = client("personalize-events", f"{base}/base")
    events.put_events(trackingId=TRACKER, sessionId="anon-session-pz",
                      eventList=[{"eventType": "view", "itemId": world["item_ids"][2], "sentAt": 1_750_000_000}])
    with pytest.raises(botocore.exceptions.ClientError) as err:  # a prefix that is not configured
        client("personalize-runtime", f"{base}/other").get_recommendations(campaignArn=CAMPAIGN, userId="u")
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_unsigned_mode_and_zero_config(world):
    """Unsigned mode accepts unsigned clients (signed ones still verified); no campaigns: any ARN works."""
    with serve_app(make_settings(world, personalize_unsigned=True, sigv4_keys={AK: SECRET})) as url:
        unsigned = boto3.client("personalize-runtime", endpoint_url=url, region_name=REGION,
                                config=Config(signature_version=botocore.UNSIGNED, retries={"max_attempts": 1}))
        r = unsigned.get_recommendations(campaignArn=UNKNOWN, userId=world["cached_users"][-1], numResults=4)
        assert len(r["itemList"]) == 4
        with pytest.raises(botocore.exceptions.ClientError) as err:
            client("personalize-runtime", url, secret="wrong").get_recommendations(campaignArn=UNKNOWN, userId="u")
        assert err.value.response["Error"]["Code"] == "InvalidSignatureException"


def test_no_keys_configured_rejects_everything(world):
    with serve_app(make_settings(world)) as url:
        with pytest.raises(botocore.exceptions.ClientError) as err:
            client("personalize-runtime", url).get_recommendations(campaignArn=CAMPAIGN, userId="u")
        assert err.value.response["Error"]["Code"] == "UnrecognizedClientException"
        assert "HOMEREC_SIGV4_KEYS" in err.value.response["Error"]["Message"]
        unsigned = boto3.client("personalize-runtime", endpoint_url=url, region_name=REGION,
                                config=Config(signature_version=botocore.UNSIGNED, retries={"max_attempts": 1}))
        with pytest.raises(botocore.exceptions.ClientError) as err:
            unsigned.get_recommendations(campaignArn=CAMPAIGN, userId="u")
        assert "HOMEREC_SIGV4_KEYS" in err.value.response["Error"]["Message"]


def test_malformed_bodies_get_4xx(world):
    """Raw HTTP (unsigned mode): bad JSON, wrong types and shapes are 400s in the AWS error format."""
    import httpx

    bodies = [b"{not json", b"[]", b"\xff\xfe", b"", json.dumps({"campaignArn": 5, "userId": "u"}).encode(),
              json.dumps({"campaignArn": CAMPAIGN, "userId": "u", "numResults": True}).encode(),
              json.dumps({"campaignArn": CAMPAIGN, "userId": "u", "context": {"bad key!": "x"}}).encode(),
              json.dumps({"trackingId": "t", "sessionId": "s", "eventList": [{"eventType": "x", "sentAt": "now"}]}).encode()]
    with serve_app(make_settings(world, personalize_unsigned=True)) as url:
        for path in ("/recommendations", "/personalize-ranking", "/events", "/items", "/users"):
            for body in bodies:
                r = httpx.post(url + path, content=body, timeout=10,
                               headers={"content-type": "application/json", "x-api-key": API_KEY})
                assert r.status_code == 400, (path, body, r.text)
                assert r.headers["x-amzn-errortype"] in ("InvalidInputException", "SerializationException")
                assert r.json()["message"] and r.headers["x-amzn-requestid"]
        r = httpx.post(url + "/events", content=b"x" * (2 << 20), timeout=10, headers={"x-api-key": API_KEY})
        assert r.status_code == 413
