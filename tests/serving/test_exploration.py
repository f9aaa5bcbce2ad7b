# SPDX-License-Identifier: Apache-2.0
"""Exploration: a share of a user's list goes to young products with few events, stable per user and day,
less to products shown often without clicks; off (weight 0) it changes nothing."""

import time
from collections.abc import Iterator

import boto3
import polars as pl
import pytest
from botocore.config import Config
from starlette.testclient import TestClient

from homerec.data.schema import Col
from homerec.models.registry import Registry
from homerec.serving import create_app, exploration
from homerec.serving.catalog import Catalog
from homerec.serving.request import Exploration
from homerec.serving.versions import Versions
from homerec.storage import open_store
from homerec.storage.experiment_log import EXPOSURE_SCHEMA
from tests.live import serve_app
from tests.serving.conftest import make_settings

CUTOFF_DAYS = 365.0  # the small world's newest launch is ~2.5 months before its last order
AK, SECRET, REGION = "AKIAEX", "ex-secret", "eu-west-1"
ARN = "arn:aws:personalize:eu-west-1:123456789012"
EXPLORING = f"{ARN}:campaign/explore"
PLAIN = f"{ARN}:campaign/plain"


def _items(client: TestClient, user: str, k: int = 10) -> list[dict]:
    r = client.get(f"/v1/users/{user}/recommendations?num_results={k}")
    assert r.status_code == 200, r.text
    return r.json()["items"]


@pytest.fixture(scope="module")
def store(world):
    s = open_store(world["store_url"])
    yield s
    s.close()


@pytest.fixture(scope="module")
def pool_setup(world, store):
    """(served model, trained_until, the young products with few events) of the world's active version."""
    versions = Versions(Registry(world["artifacts"]))
    versions.refresh(force=True)
    loaded = versions.load(None)
    catalog = Catalog(store, refresh_s=0)
    model = catalog.model(loaded.model)
    pool = exploration.build_pool(store, catalog, model, loaded.trained_until, Exploration(0.3, CUTOFF_DAYS))
    assert len(pool.ids) >= 4, "the world needs young products for these tests"
    return model, loaded.trained_until, pool, catalog


def test_the_pool_holds_young_products_with_few_events(pool_setup, store):
    _, trained_until, pool, catalog = pool_setup
    created = exploration.creation_seconds(catalog.items())
    counts = store.interactions()[Col.item_id].value_counts()
    n = dict(zip(counts[Col.item_id].to_list(), counts["count"].to_list()))
    for item in pool.ids:
        assert created[item] >= trained_until - CUTOFF_DAYS * 86_400
        assert n.get(item, 0) < 20
    old = [i for i, t in created.items() if t < trained_until - CUTOFF_DAYS * 86_400]
    assert old and not set(old) & set(pool.ids)
    assert all(s == 1.0 for s in pool.share.values())  # nothing shown yet


def test_weight_zero_changes_no_answer(world):
    users = world["cached_users"][:15]
    with TestClient(create_app(make_settings(world))) as plain, \
            TestClient(create_app(make_settings(world, exploration_weight=0.0,
                                                exploration_item_age_cutoff=CUTOFF_DAYS))) as off:
        for user in users:
            a, b = plain.get(f"/v1/users/{user}/recommendations").json(), off.get(f"/v1/users/{user}/recommendations").json()
            assert [i["item_id"] for i in a["items"]] == [i["item_id"] for i in b["items"]]
            assert b["source"] == "cache" and not any(i["exploration"] for i in b["items"])


@pytest.fixture(scope="module")
def exploring(world) -> Iterator[TestClient]:
    settings = make_settings(world, exploration_weight=0.3, exploration_item_age_cutoff=CUTOFF_DAYS)
    with TestClient(create_app(settings)) as c:
        yield c


def test_a_share_of_slots_goes_to_young_products(exploring, world, store, pool_setup):
    _, _, pool, _ = pool_setup
    with TestClient(create_app(make_settings(world))) as plain:
        for user in world["cached_users"][:10]:
            base = [i["item_id"] for i in _items(plain, user)]
            items = _items(exploring, user)
            explored = [i for i in items if i["exploration"]]
            others = [i["item_id"] for i in items if not i["exploration"]]
            assert len(items) == 10 and len(explored) == 3, items
            assert all(i["reason"] == "exploration" and i["item_id"] in pool.ids for i in explored)
            bought = set(store.history(user)[Col.item_id].to_list())
            assert not {i["item_id"] for i in explored} & (bought | set(base[:7]))
            assert others == base[:7]  # the rest: the list without exploration, in its order


def test_the_same_user_gets_the_same_list_all_day(exploring, world, pool_setup):
    user = world["cached_users"][3]
    assert _items(exploring, user) == _items(exploring, user)
    model, _, pool, _ = pool_setup
    picks = {day: [r.item_id for r in exploration.choose(model, pool, user, user, [], set(), 2, str(day))]
             for day in range(20)}
    assert len({tuple(p) for p in picks.values()}) > 1  # another day, another draw


def test_impressions_without_clicks_lower_a_products_share(world, store, pool_setup):
    model, trained_until, pool, catalog = pool_setup
    ignored = pool.ids[0]
    now = int(time.time())
    rows = [(f"ex-test-{n}:x", exploration.LOG_NAME, exploration.LOG_VARIANT, "U-nobody", [ignored], now, True, None)
            for n in range(100)]
    store.add_exposures(pl.DataFrame(list(zip(*rows)), schema=EXPOSURE_SCHEMA, orient="col"))
    later = exploration.build_pool(store, catalog, model, trained_until, Exploration(0.3, CUTOFF_DAYS))
    assert later.share[ignored] < 0.5 * pool.share[ignored]
    users = world["cached_users"][:60]

    def shown(p: exploration.Pool) -> int:
        return sum(ignored in [r.item_id for r in exploration.choose(model, p, u, u, [], set(), 2, "1")] for u in users)

    assert shown(later) < shown(pool)


def test_served_exploration_slots_are_logged(world):
    store_url = world["store_url"]
    settings = make_settings(world, exploration_weight=0.3, exploration_item_age_cutoff=CUTOFF_DAYS)
    with TestClient(create_app(settings)) as c:
        user = world["cached_users"][5]
        body = c.get(f"/v1/users/{user}/recommendations").json()
    s = open_store(store_url)
    try:
        logged = s.exposures(exploration.LOG_NAME)
    finally:
        s.close()
    mine = logged.filter(pl.col(Col.recommendation_id) == f"{body['recommendation_id']}:x")
    assert mine.height == 1
    assert mine[Col.ranked][0].to_list() == [i["item_id"] for i in body["items"] if i["exploration"]]


@pytest.fixture(scope="module")
def personalize(world) -> Iterator[str]:
    group = {"arn": f"{ARN}:dataset-group/shop",
             "campaigns": {EXPLORING: {"itemExplorationConfig": {"explorationWeight": "0.5",
                                                                 "explorationItemAgeCutOff": str(CUTOFF_DAYS)}},
                           PLAIN: {}}}
    with serve_app(make_settings(world, sigv4_keys={AK: SECRET}, dataset_groups=[group])) as base:
        yield base


def _client(service: str, url: str):
    return boto3.client(service, endpoint_url=url, region_name=REGION, aws_access_key_id=AK,
                        aws_secret_access_key=SECRET, config=Config(retries={"max_attempts": 1}))


def test_a_campaigns_exploration_config_is_served_and_described(personalize, world):
    runtime, control = _client("personalize-runtime", personalize), _client("personalize", personalize)
    user = world["cached_users"][2]
    explored = runtime.get_recommendations(campaignArn=EXPLORING, userId=user, numResults=10)["itemList"]
    assert sum("Exploration" in i.get("reason", []) for i in explored) == 5
    plain = runtime.get_recommendations(campaignArn=PLAIN, userId=user, numResults=10)["itemList"]
    assert not any("Exploration" in i.get("reason", []) for i in plain)  # the server's weight: 0
    config = control.describe_campaign(campaignArn=EXPLORING)["campaign"]["campaignConfig"]["itemExplorationConfig"]
    assert config == {"explorationWeight": "0.5", "explorationItemAgeCutOff": "365"}
    config = control.describe_campaign(campaignArn=PLAIN)["campaign"]["campaignConfig"]["itemExplorationConfig"]
    assert config["explorationWeight"] == "0"


def test_the_simulator_counts_explored_items_and_their_clicks(world, tmp_path):
    from homerec.synth.simulate import simulate
    from tests.serving.conftest import API_KEY, copy_store

    store_url = copy_store(world, tmp_path / "homerec.db")
    settings = make_settings(world, store_url=store_url, exploration_weight=0.3,
                             exploration_item_age_cutoff=CUTOFF_DAYS)
    with serve_app(settings) as url:
        s = simulate(world["root"] / "data", url, requests=60, concurrency=2, seed=4, api_key=API_KEY,
                     new_user_share=0.0, duration=120)
    explored = sum(st.explored for st in s.by_source.values())
    assert s.n_errors == 0 and explored == 3 * s.lists  # 10 × 0.3 slots in every list
    assert sum(s.shown_items.values()) == 10 * s.lists and sum(s.clicked_items.values()) == s.clicks
    assert sum(st.explored_clicks for st in s.by_source.values()) <= s.clicks


def test_slots_and_creation_times_are_read_as_personalize_writes_them():
    assert [exploration.slots(k, w) for k, w in ((10, 0.3), (1, 0.3), (5, 1.0), (10, 0.0), (3, 0.5))] == [3, 0, 5, 0, 2]
    items = pl.DataFrame({Col.item_id: ["a", "b", "c", "d"],
                          "creation_timestamp": ["1700000000", "1700000000000", "soon", None]})
    assert exploration.creation_seconds(items) == {"a": 1.7e9, "b": 1.7e9}  # ms scaled; unreadable left out
    assert exploration.creation_seconds(pl.DataFrame({Col.item_id: ["a"]})) == {}
