# SPDX-License-Identifier: Apache-2.0
"""Personalize filter expressions: parser, evaluator, and through the native and boto3 APIs."""

import json
import time

import polars as pl
import pytest
from starlette.testclient import TestClient

from homerec.serving import create_app
from homerec.serving.filters import (
    Cond,
    FilterData,
    FilterError,
    Value,
    bind,
    evaluate,
    parse,
    parse_values,
    select,
)
from homerec.settings import Settings
from homerec.storage import open_store
from tests.serving.conftest import API_KEY, make_settings
from tests.live import serve_app as serve
from tests.serving.test_personalize_boto3 import AK, CAMPAIGN, SECRET, TRACKER
from tests.serving.test_personalize_boto3 import client as boto_client

NOT_BOUGHT = 'EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase")'
BY_CATEGORY = "INCLUDE ItemID WHERE Items.CATEGORY IN ($CATS)"


# -- parser ------------------------------------------------------------------------------------
def test_parse_each_construct():
    f = parse('INCLUDE ItemID WHERE Items.CATEGORY_L1 IN ($CATS, "x") | EXCLUDE itemid where '
              'interactions.event_type in ("purchase")')
    assert [e.include for e in f.exprs] == [True, False]
    assert f.exprs[0].where == ((Cond("ITEMS", "CATEGORY_L1", "IN", (Value(param="CATS"), Value("x", quoted=True))),),)
    assert f.exprs[1].where[0][0] == Cond("INTERACTIONS", "EVENT_TYPE", "IN", (Value("purchase", quoted=True),))
    assert f.placeholders == {"CATS"}
    f = parse('INCLUDE ItemID WHERE Items.A NOT IN ("1") AND Items.PRICE <= $MAX OR Items.B >= 2.5')
    (e,) = f.exprs
    assert [[c.op for c in g] for g in e.where] == [["NOT IN", "<="], [">="]]  # AND binds tighter than OR
    for op in ("=", "<", ">", "<=", ">="):
        assert parse(f"EXCLUDE ItemID WHERE Items.PRICE {op} 3").exprs[0].where[0][0].op == op
    e = parse('EXCLUDE ItemID WHERE Items.ADULT IN ("yes") IF CurrentUser.AGE < 18 AND CurrentUser.X IN ("a")').exprs[0]
    assert [c.dataset for c in e.when] == ["CURRENTUSER", "CURRENTUSER"]
    assert parse('INCLUDE ItemID WHERE Users.SEGMENT IN ("retail")').exprs[0].dataset == "USERS"
    assert parse("INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN (*)").exprs[0].where[0][0].values[0].text == "*"


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("KEEP ItemID WHERE Items.A IN (\"x\")", "INCLUDE or EXCLUDE"),
    ("INCLUDE ItemID Items.A IN (\"x\")", "expected WHERE"),
    ("INCLUDE ItemID WHERE Items.A IN (\"x\"", "expected ')'"),
    ("INCLUDE ItemID WHERE Items.A IN ()", "a value"),
    ("INCLUDE ItemID WHERE Items.A IN (\"x\",)", "a value"),
    ("INCLUDE ItemID WHERE Items.A LIKE \"x\"", "IN, NOT IN or a comparison"),
    ("INCLUDE ItemID WHERE A IN (\"x\")", "a field like Items.CATEGORY"),
    ("INCLUDE ItemID WHERE Products.A IN (\"x\")", "unknown dataset"),
    ("INCLUDE ItemID WHERE Items.A IN (\"x\") AND Interactions.EVENT_TYPE IN (\"a\")", "one dataset"),
    ("INCLUDE ItemID WHERE Items.A IN (\"x\") |", "INCLUDE or EXCLUDE"),
    ("INCLUDE ItemID WHERE Items.A IN (\"x\") extra", "or the end"),
    ("INCLUDE ItemID WHERE Items.A IN ('x')", "unexpected character"),
    ("INCLUDE ItemID WHERE Items.PRICE < CurrentItem.PRICE", "a number"),
    ("INCLUDE ItemID WHERE Items.G IN CurrentItem.G", "CurrentItem"),
    ("INCLUDE ItemID WHERE CurrentUser.AGE < 3", "after IF"),
    ("INCLUDE ItemID WHERE Items.A IN (\"x\") IF Items.B IN (\"y\")", "IF takes CurrentUser"),
    ("INCLUDE UserID WHERE Items.A IN (\"x\")", "only ItemID"),
    ("INCLUDE ItemID WHERE Interactions.SESSION IN (\"x\")", "not supported"),
    ("INCLUDE ItemID WHERE Items.A IN (\"" + "x" * 2600 + "\")", "longer than"),
])
def test_parse_errors(text, message):
    with pytest.raises(FilterError) as err:
        parse(text)
    assert message in str(err.value)


def test_parse_values_and_bind():
    assert parse_values('"shoes","boots"') == ["shoes", "boots"]
    assert parse_values(' "a,b" , 20 ') == ["a,b", "20"]
    assert parse_values('"say \\"hi\\""') == ['say "hi"']
    for bad in ("", '"a",', '"a" "b"', '"unclosed'):
        with pytest.raises(FilterError):
            parse_values(bad)
    b = bind(parse(BY_CATEGORY), {"CATS": '"shoes","boots"'})
    assert b.exprs[0].where[0][0].values == ("shoes", "boots")
    with pytest.raises(FilterError, match=r"missing for \$CATS"):  # INCLUDE: every placeholder needed
        bind(parse(BY_CATEGORY), {"cats": '"x"'})  # names are case-sensitive
    assert bind(parse("EXCLUDE ItemID WHERE Items.CATEGORY IN ($C)"), {}).exprs == ()  # EXCLUDE: dropped
    with pytest.raises(FilterError, match="needs a number"):
        bind(parse("INCLUDE ItemID WHERE Items.PRICE < $P"), {"P": '"cheap"'})
    with pytest.raises(FilterError, match="needs one value"):
        bind(parse("INCLUDE ItemID WHERE Items.PRICE < $P"), {"P": '"1","2"'})
    assert bind(parse("INCLUDE ItemID WHERE Items.PRICE < $P"), {"P": '"20"'}).exprs[0].where[0][0].values == ("20",)


# -- evaluator ---------------------------------------------------------------------------------
ITEMS = pl.DataFrame({
    "item_id": ["a", "b", "c", "d"],
    "CATEGORY": ["Shoes|Boots", "Boots", "Hats", None],
    "PRICE": ["10", "25.5", "40", "x"],
})
HISTORY = pl.DataFrame({"user_id": ["u"] * 3, "item_id": ["a", "c", "d"], "ts": [1, 2, 3],
                        "event_type": ["Purchase", "click", "view"], "event_value": [1.0, 2.0, 9.0]})


def data(user: dict | None = None, history: pl.DataFrame = HISTORY) -> FilterData:
    return FilterData(items=lambda: ITEMS, history=lambda: history, user=lambda: user)


@pytest.mark.parametrize("text, values, allowed, banned", [
    ('INCLUDE ItemID WHERE Items.category IN ("Boots")', {}, {"a", "b"}, set()),  # multi-valued, any value
    ('INCLUDE ItemID WHERE Items.CATEGORY NOT IN ("Boots")', {}, {"c", "d"}, set()),
    ("INCLUDE ItemID WHERE Items.CATEGORY IN ($C)", {"C": '"Hats","Shoes"'}, {"a", "c"}, set()),
    ("INCLUDE ItemID WHERE Items.PRICE <= $P", {"P": "25.5"}, {"a", "b"}, set()),
    ("INCLUDE ItemID WHERE Items.PRICE > 10 AND Items.CATEGORY IN (\"Boots\")", {}, {"b"}, set()),
    ("INCLUDE ItemID WHERE Items.PRICE = 40 OR Items.CATEGORY IN (\"Shoes\")", {}, {"a", "c"}, set()),
    ('EXCLUDE ItemID WHERE Items.CATEGORY IN ("Hats")', {}, None, {"c"}),
    (NOT_BOUGHT, {}, None, {"a"}),  # event types match case-insensitively
    ('EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")', {}, None, {"a", "c", "d"}),
    ("EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN (\"view\", \"click\") AND Interactions.EVENT_VALUE > 5",
     {}, None, {"d"}),
    # | : includes unioned, excludes unioned, (∪ includes) − (∪ excludes) in any order
    (NOT_BOUGHT + ' | INCLUDE ItemID WHERE Items.CATEGORY IN ("Boots") | INCLUDE ItemID WHERE Items.PRICE > 30',
     {}, {"a", "b", "c"}, {"a"}),
])
def test_evaluate_items_and_interactions(text, values, allowed, banned):
    sel = select(text, values, data())
    assert (set(sel.allowed) if sel.allowed is not None else None) == allowed
    assert set(sel.banned) == banned
    kept = {i for i in ITEMS["item_id"] if sel.keeps(i)}
    assert kept == (allowed if allowed is not None else set(ITEMS["item_id"])) - banned
    assert sel.excluded(ITEMS["item_id"]) == set(ITEMS["item_id"]) - kept


def test_evaluate_users_conditions():
    adult_only = 'EXCLUDE ItemID WHERE Items.CATEGORY IN ("Hats") IF CurrentUser.AGE < 18'
    assert select(adult_only, {}, data({"user_id": "u", "AGE": "15"})).banned == {"c"}
    assert select(adult_only, {}, data({"user_id": "u", "AGE": "30"})).banned == set()
    assert select(adult_only, {}, data(None)).banned == set()  # unknown user: the IF does not hold
    retail = 'INCLUDE ItemID WHERE Users.segment IN ("retail")'
    assert select(retail, {}, data({"user_id": "u", "SEGMENT": "retail"})).allowed is None  # everything
    assert select(retail, {}, data({"user_id": "u", "SEGMENT": "horeca"})).allowed == frozenset()
    none = select('EXCLUDE ItemID WHERE Users.SEGMENT NOT IN ("x")', {}, data({"user_id": "u"}))
    assert not any(none.keeps(i) for i in ITEMS["item_id"])


def test_evaluate_edge_cases():
    with pytest.raises(FilterError, match="no field NOPE"):
        select('INCLUDE ItemID WHERE Items.NOPE IN ("x")', {}, data())
    empty = pl.DataFrame(schema={"item_id": pl.String, "event_type": pl.String, "event_value": pl.Float64,
                                 "ts": pl.Int64})
    assert select(NOT_BOUGHT, {}, data(history=empty)).banned == set()
    assert select('INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("*")', {}, data(history=empty)).allowed == set()
    assert evaluate(bind(parse("EXCLUDE ItemID WHERE Items.CATEGORY IN ($C)"), {}), data()).banned == set()


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
