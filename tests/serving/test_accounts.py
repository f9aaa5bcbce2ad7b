# SPDX-License-Identifier: Apache-2.0
"""Accounts: buyers sharing an ACCOUNT_ID get an account-level list from their pooled events, and their own
lists follow `account_pooling`; account metadata is in the catalogue as user metadata is."""

import json

import pytest
from starlette.testclient import TestClient

from homerec.data.schema import Col
from homerec.models.registry import Registry
from homerec.serving import create_app
from homerec.serving.catalog import Catalog
from homerec.serving.versions import Versions
from homerec.storage import open_store
from tests.serving.conftest import copy_store, make_settings

ACCOUNT = "ACME-01"


@pytest.fixture(scope="module")
def own_world(world, tmp_path_factory):
    """A private store copy whose first two warm users buy for one account (one set natively, one by PutUsers)."""
    root = tmp_path_factory.mktemp("accounts")
    own = {**world, "store_url": copy_store(world, root / "homerec.db")}
    store = open_store(own["store_url"])
    try:
        buyers = [u for u in world["cached_users"] if 3 <= store.history(u).height <= 30][:3]
    finally:
        store.close()
    settings = make_settings(own, personalize_unsigned=True)
    with TestClient(create_app(settings)) as c:
        r = c.put(f"/v1/users/{buyers[0]}", json={"ACCOUNT_ID": ACCOUNT, "SEGMENT": "builders", "ROLE": "site"},
                  headers={"x-api-key": "test-key"})
        assert r.status_code == 200, r.text
        props = json.dumps({"accountId": ACCOUNT, "segment": "builders", "role": "office"})
        r = c.post("/users", headers={"x-api-key": "test-key"}, content=json.dumps(
            {"datasetArn": "arn:aws:personalize:us-east-1:1:dataset/users",
             "users": [{"userId": buyers[1], "properties": props}]}))
        assert r.status_code == 200, r.text
    return {**own, "buyers": buyers}


def _model_and_history(own_world: dict):
    versions = Versions(Registry(own_world["artifacts"]))
    versions.refresh(force=True)
    store = open_store(own_world["store_url"])
    catalog = Catalog(store, refresh_s=0)
    model = catalog.model(versions.load(None).model)
    history = {u: store.user_items(u)[0] for u in own_world["buyers"]}
    return store, catalog, model, history


def _ids(client: TestClient, path: str, k: int = 10) -> list[str]:
    r = client.get(f"{path}?num_results={k}")
    assert r.status_code == 200, r.text
    return [i["item_id"] for i in r.json()["items"]]


def test_an_account_list_is_the_fold_in_of_its_buyers_pooled_events(own_world):
    store, _, model, history = _model_and_history(own_world)
    a, b, _ = own_world["buyers"]
    pooled = history[a] + history[b]
    expected = [r.item_id for r in model.recommend(None, 10, exclude=set(pooled), history=pooled)]
    store.close()
    with TestClient(create_app(make_settings(own_world))) as c:
        got = _ids(c, f"/v1/accounts/{ACCOUNT}/recommendations")
        assert got == expected
        assert not set(got) & set(pooled)  # what any buyer of the account bought stays out
        r = c.get(f"/v1/accounts/{ACCOUNT}/recommendations?include_seen=true&num_results=50")
        assert set(i["item_id"] for i in r.json()["items"]) & set(pooled)  # a buy-again list keeps them


def test_an_unknown_account_is_a_404(own_world):
    with TestClient(create_app(make_settings(own_world))) as c:
        r = c.get("/v1/accounts/NOBODY/recommendations")
        assert r.status_code == 404 and "NOBODY" in r.json()["error"]
        assert c.get("/v1/accounts/%00/recommendations").status_code == 422


def test_a_buyers_list_follows_account_pooling(own_world):
    store, _, model, history = _model_and_history(own_world)
    a, b, loner = own_world["buyers"]
    weighted = history[a] * 2 + history[b]
    expected_both = [r.item_id for r in model.recommend(None, 10, exclude=set(weighted), history=weighted)]
    store.close()
    with TestClient(create_app(make_settings(own_world))) as off:
        own_a, own_loner = _ids(off, f"/v1/users/{a}/recommendations"), _ids(off, f"/v1/users/{loner}/recommendations")
        account = _ids(off, f"/v1/accounts/{ACCOUNT}/recommendations")
    with TestClient(create_app(make_settings(own_world, account_pooling="account"))) as pooled:
        assert _ids(pooled, f"/v1/users/{a}/recommendations") == account
        assert _ids(pooled, f"/v1/users/{b}/recommendations") == account
        assert _ids(pooled, f"/v1/users/{loner}/recommendations") == own_loner  # no account: as before
    with TestClient(create_app(make_settings(own_world, account_pooling="buyer+account"))) as both:
        assert _ids(both, f"/v1/users/{a}/recommendations") == expected_both
    assert own_a != account


def test_account_metadata_is_what_its_buyers_share(own_world):
    store = open_store(own_world["store_url"])
    try:
        catalog = Catalog(store, refresh_s=0)
        a, b, loner = own_world["buyers"]
        assert set(catalog.account_buyers(ACCOUNT)) == {a, b}
        assert catalog.user_account(a) == ACCOUNT and catalog.user_account(loner) is None
        meta = catalog.account(ACCOUNT)
        assert meta is not None and meta["ACCOUNT_ID"] == ACCOUNT and meta["SEGMENT"] == "builders"
        assert "ROLE" not in meta and Col.user_id not in meta  # the buyers differ on it
        assert catalog.account("NOBODY") is None
    finally:
        store.close()
