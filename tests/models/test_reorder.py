# SPDX-License-Identifier: Apache-2.0
"""ReorderModel: due dates from known intervals, suggested quantities, discoveries and artifacts."""

import numpy as np
import pytest

from homerec.errors import NotFitted
from homerec.models.popularity import Popularity
from homerec.models.reorder import ReorderModel, due_phrase, reorder_reason
from homerec.models.purchase_stats import pair_stats, purchases
from tests.models.reorder_world import DAY, INTERVAL, START, UNITS, split_world, staples, user_events, world


@pytest.fixture(scope="module")
def fitted() -> ReorderModel:
    history, future = split_world()
    discovery = Popularity().fit(history)
    return ReorderModel().fit(history, future, discovery, now=int(future.ts.min()))


def test_due_dates_follow_each_customers_interval(fitted):
    user = "u10"  # buys its staples on days 10, 40, ..., 280
    last = START + 280 * DAY + 3600
    now = last + (INTERVAL - 2) * DAY  # bought every 30 days, last 28 days ago: due in 2 days
    recs = fitted.recommend(user, user_events(user, now), now=now, k=5)
    first, second = staples(user)
    by_item = {r.item_id: r for r in recs}
    assert by_item[first].reason == "re-order: due in 2 days, usually 40 units"
    assert by_item[second].reason == "re-order: due in 2 days, usually 12 units"
    assert by_item[first].quantity == UNITS["first"] and by_item[second].quantity == UNITS["second"]
    later = fitted.recommend(user, user_events(user, now), now=now + 5 * DAY, k=5)
    assert {r.item_id: r.reason for r in later}[first] == "re-order: overdue by 3 days, usually 40 units"


def test_due_items_lead_and_the_rest_are_discoveries(fitted):
    now = START + 308 * DAY
    recs = fitted.recommend("u10", user_events("u10", now), now=now, k=5)
    assert {r.item_id for r in recs[:2]} == set(staples("u10"))
    assert [r.score for r in recs] == sorted((r.score for r in recs), reverse=True)
    assert all(r.quantity is None and not r.reason.startswith("re-order") for r in recs[2:])
    assert all(0.0 <= r.score10 <= 10.0 for r in recs)


def test_exclude_and_unknown_items(fitted):
    now = START + 308 * DAY
    first, _ = staples("u10")
    events = user_events("u10", now)
    recs = fitted.recommend("u10", events, now=now, k=5, exclude=[first, "i999"])
    assert first not in {r.item_id for r in recs} and len(recs) == 5


def test_items_the_non_product_rule_marks_are_never_listed():
    history, future = split_world()
    first, _ = staples("u10")  # bought by u10 every 30 days: a re-order candidate, like a delivery charge
    allowed = np.ones(history.n_items, bool)
    allowed[history.items.get(first)] = False
    discovery = Popularity().fit(history, recommendable=allowed)
    model = ReorderModel().fit(history, future, discovery, now=int(future.ts.min()))
    now = START + 308 * DAY
    recs = model.recommend("u10", user_events("u10", now), now=now, k=5)
    assert len(recs) == 5 and first not in {r.item_id for r in recs}
    (lists,) = model.recommend_batch(history, ["u10"], now, k=5)
    assert history.items.get(first) not in lists.idx[0].tolist()


def test_a_customer_without_history_gets_the_fallback(fitted):
    recs = fitted.recommend("nobody", user_events("nobody", START), now=START + 308 * DAY, k=3)
    assert len(recs) == 3 and all(r.reason == "popularity fallback: no history" for r in recs)


def test_batch_lists_match_one_user_lists(fitted):
    data, now = world(), START + 308 * DAY
    history = data.select(data.ts < now)
    (lists,) = fitted.recommend_batch(history, ["u10", "u11", "nobody"], now, k=4)
    one = fitted.recommend("u11", user_events("u11", now), now=now, k=4)
    assert fitted.items_.to_ids(lists.idx[1]) == [r.item_id for r in one]
    assert lists.cold.tolist() == [False, False, True]
    explained = fitted.explain(lists)
    assert [r.reason for r in explained[1][:2]] == [r.reason for r in one[:2]]


def test_save_load_round_trip(fitted, tmp_path):
    now = START + 308 * DAY
    loaded = ReorderModel.load(fitted.save(tmp_path / "reorder"), discovery=fitted.discovery_)
    a = fitted.recommend("u12", user_events("u12", now), now=now, k=5)
    b = loaded.recommend("u12", user_events("u12", now), now=now, k=5)
    assert a == b
    with pytest.raises(NotFitted):
        ReorderModel.load(tmp_path / "reorder").recommend("u12", user_events("u12", now), now=now)
    with pytest.raises(NotFitted):
        ReorderModel().recommend("u12", user_events("u12", now))


def test_pair_statistics_of_known_rhythms():
    history, _ = split_world()
    stats = pair_stats(purchases(history), int(history.max_ts()) + 1, (30.0,))
    u10 = history.users.to_idx("u10")
    mine = stats.user == u10
    assert np.allclose(stats.interval_days[mine], INTERVAL)
    assert np.allclose(stats.count[mine], 10) and np.allclose(stats.orders_between[mine], 9)
    assert sorted(stats.quantity[mine].tolist()) == sorted(UNITS.values())


def test_reason_wording():
    assert due_phrase(1.2) == "due tomorrow" and due_phrase(-0.4) == "due today"
    assert due_phrase(-1) == "overdue by 1 day" and due_phrase(6.6) == "due in 7 days"
    assert reorder_reason(2, 1.0) == "re-order: due in 2 days, usually 1 unit"
    assert reorder_reason(2, float("nan")) == "re-order: due in 2 days"


def test_threads_give_the_same_lists(fitted, monkeypatch):
    import homerec.models.reorder as reorder

    monkeypatch.setattr(reorder, "CHUNK_CELLS", 160)  # 16 users a chunk: the world's 30 users make two
    data, now = world(), START + 308 * DAY
    users = data.users.ids.tolist()
    one = list(fitted.recommend_batch(data, users, now, k=4))
    two = list(fitted.recommend_batch(data, users, now, k=4, workers=2))
    assert len(one) == 2 and all(np.array_equal(a.idx, b.idx) for a, b in zip(one, two))
