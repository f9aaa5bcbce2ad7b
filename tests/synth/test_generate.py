# SPDX-License-Identifier: Apache-2.0
"""The synthetic distributor: determinism, file layout, realism and learnability."""

import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from homerec.data.schema import EVENT_TYPE, EVENT_VALUE, ITEM_ID, ORDER_ID, QUANTITY, TIMESTAMP, USER_ID
from homerec.errors import ConfigError, UnknownItem, UnknownUser
from homerec.synth import POPULATION_FILE, GenerateSummary, Population, choice, generate
from homerec.synth.choice import sample_items

FILES = ("users.csv", "items.csv", "interactions.csv", POPULATION_FILE)
SMALL = 0.01


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[GenerateSummary, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Scale-0.01 data: summary, users, items and interactions frames."""
    summary = generate(tmp_path_factory.mktemp("small"), SMALL, seed=7)
    d = summary.out_dir
    return summary, pl.read_csv(d / "users.csv"), pl.read_csv(d / "items.csv"), pl.read_csv(d / "interactions.csv")


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path: Path):
    a = generate(tmp_path / "a", 0.005, seed=3)
    b = generate(tmp_path / "b", 0.005, seed=3)
    c = generate(tmp_path / "c", 0.005, seed=4)
    for name in FILES:
        assert (a.out_dir / name).read_bytes() == (b.out_dir / name).read_bytes(), name
    assert (a.out_dir / "interactions.csv").read_bytes() != (c.out_dir / "interactions.csv").read_bytes()
    assert (a.out_dir / "items.csv").read_bytes() != (c.out_dir / "items.csv").read_bytes()


def test_many_chunks_on_two_threads_same_bytes(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(choice, "CHUNK_USERS", 50)
    a = generate(tmp_path / "a", 0.005, seed=3)
    b = generate(tmp_path / "b", 0.005, seed=3)
    assert (a.out_dir / "interactions.csv").read_bytes() == (b.out_dir / "interactions.csv").read_bytes()


def test_sampler_draws_from_hidden_tastes(small, monkeypatch):
    summary, _, items, _ = small
    pop = Population.load(summary.out_dir)
    n = 200_000
    drawn = sample_items(pop, np.full(n, 3), np.zeros(n, dtype=np.int64), np.random.SeedSequence(0))
    logits = pop.logits(np.array([3]), 0)[0]
    true = np.exp(logits - logits.max())
    true /= true.sum()
    assert 0.5 * np.abs(np.bincount(drawn, minlength=pop.n_items) / n - true).sum() < 0.03
    assert not np.isin(drawn, np.flatnonzero(items["CREATION_TIMESTAMP"].to_numpy() > summary.start_ts)).any()
    rng = np.random.default_rng(1)
    rows, months = np.sort(rng.integers(0, pop.n_users, 3000)), rng.integers(0, 24, 3000)
    monkeypatch.setattr(choice, "CHUNK_USERS", 100)
    one = sample_items(pop, rows, months, np.random.SeedSequence(9), threads=1)
    two = sample_items(pop, rows, months, np.random.SeedSequence(9), threads=2)
    np.testing.assert_array_equal(one, two)


def test_files_columns_and_types(small):
    summary, users, items, events = small
    for name in FILES:
        assert (summary.out_dir / name).stat().st_size > 0
    assert users.columns == [USER_ID, "SEGMENT", "REGION", "SIGNUP_TS"]
    assert items.columns == [ITEM_ID, "CATEGORY", "BRAND", "PRICE", "DESCRIPTION", "CREATION_TIMESTAMP"]
    assert events.columns == [USER_ID, ITEM_ID, TIMESTAMP, EVENT_TYPE, EVENT_VALUE, ORDER_ID, QUANTITY]
    assert events[TIMESTAMP].dtype == pl.Int64 and items["CREATION_TIMESTAMP"].dtype == pl.Int64
    assert items["PRICE"].dtype == pl.Float64 and events[EVENT_VALUE].dtype == pl.Float64
    assert (events[EVENT_TYPE] == "purchase").all() and (events[EVENT_VALUE] > 0).all()
    assert users[USER_ID].n_unique() == users.height == summary.n_users == round(180_483 * SMALL)
    assert items[ITEM_ID].n_unique() == items.height == summary.n_items >= 200
    assert events.height == summary.n_interactions
    assert 0.85 < events.height / (1_970_000 * SMALL) < 1.15
    assert events[USER_ID].is_in(users[USER_ID].implode()).all()
    assert events[ITEM_ID].is_in(items[ITEM_ID].implode()).all()
    assert users[USER_ID][0] == "C000001" and items[ITEM_ID][0] == "P00001"
    assert items["CATEGORY"].str.contains("|", literal=True).any()
    assert items["DESCRIPTION"].str.len_chars().min() > 10
    assert set(users["SEGMENT"].unique()) >= {"retail", "horeca", "wholesale", "institutional"}


def test_timestamps_integer_in_window_and_sorted(small):
    summary, _, _, events = small
    ts = events[TIMESTAMP].to_numpy()
    assert ts.min() >= summary.start_ts and ts.max() <= summary.end_ts
    assert (np.diff(ts) >= 0).all()
    assert summary.start_ts == 1_704_067_200 and summary.end_ts == 1_767_225_599


def test_no_purchase_before_launch_and_some_launches(small):
    summary, _, items, events = small
    joined = events.join(items.select(ITEM_ID, "CREATION_TIMESTAMP"), on=ITEM_ID)
    assert (joined[TIMESTAMP] >= joined["CREATION_TIMESTAMP"]).all()
    launched = items.filter(pl.col("CREATION_TIMESTAMP") > summary.start_ts)
    assert 0.05 < launched.height / items.height < 0.2
    assert launched[ITEM_ID].is_in(events[ITEM_ID].implode()).any()


def test_heavy_tail_and_baskets(small):
    _, _, _, events = small
    per_user = events.group_by(USER_ID).len()["len"]
    assert per_user.max() > 20 * per_user.median()
    assert (per_user < 20).mean() > 0.5
    per_order = events.group_by(USER_ID, TIMESTAMP).len()["len"]
    assert per_order.mean() > 2 and per_order.max() >= 5


def test_order_ids_group_one_customers_lines_at_one_time(small):
    _, _, _, events = small
    orders = events.group_by(ORDER_ID).agg(
        pl.col(USER_ID).n_unique().alias("users"), pl.col(TIMESTAMP).n_unique().alias("times"),
        (pl.len() - pl.col(ITEM_ID).n_unique()).alias("repeats"),
    )
    assert (orders["users"] == 1).all() and (orders["times"] == 1).all() and (orders["repeats"] == 0).all()
    assert events[ORDER_ID].str.contains(r"^O\d{8}$").all()
    assert (events[QUANTITY] >= 1).all() and events[QUANTITY].dtype == pl.Int64


def _repeat_gaps(events: pl.DataFrame) -> pl.DataFrame:
    """Per customer and product bought at least four times: the gaps between purchases and the units."""
    return (events.sort(TIMESTAMP).group_by(USER_ID, ITEM_ID)
            .agg(pl.col(TIMESTAMP).diff().drop_nulls().alias("gaps"), pl.col(QUANTITY).alias("units"))
            .filter(pl.col("gaps").list.len() >= 3))


def test_reorders_follow_each_customer_products_own_rhythm(small):
    """The next gap is close to the pair's earlier ones (closer than another pair's), units are steady."""
    gaps = _repeat_gaps(small[3])
    assert gaps.height > 300
    cv = gaps.select(pl.col("gaps").list.std() / pl.col("gaps").list.mean()).to_series()
    assert cv.median() < 0.6
    series = gaps["gaps"].to_list()
    expected = np.array([np.mean(g[:-1]) for g in series])
    last = np.array([g[-1] for g in series])
    own = np.median(np.abs(last - expected) / expected)
    other = np.roll(expected, 1)
    assert own < 0.5 and own < 0.7 * np.median(np.abs(last - other) / other)
    units = gaps.select(pl.col("units").list.std() / pl.col("units").list.mean()).to_series()
    assert units.median() < 0.4


def test_reorder_share_in_designed_range(small):
    _, _, _, events = small
    first = pl.col(TIMESTAMP).min().over(USER_ID, ITEM_ID)
    share = events.select((pl.col(TIMESTAMP) > first).mean()).item()
    assert 0.40 <= share <= 0.75


def test_users_without_orders_and_signup_before_first_order(small):
    summary, users, _, events = small
    buyers = events[USER_ID].n_unique()
    assert buyers == summary.n_users_with_orders
    assert 0.35 < buyers / users.height < 0.47
    first = events.group_by(USER_ID).agg(pl.col(TIMESTAMP).min().alias("first")).join(users, on=USER_ID)
    assert (first["SIGNUP_TS"] <= first["first"]).all()
    assert users["SIGNUP_TS"].is_sorted()


def test_population_round_trip_and_probabilities(small, tmp_path: Path):
    summary, users, items, _ = small
    pop = Population.load(summary.out_dir)
    copy = Population.load(pop.save(tmp_path / "copy.npz"))
    for name in ("user_ids", "item_ids", "user_vec", "user_cat", "item_vec", "item_cat", "item_logpop"):
        np.testing.assert_array_equal(getattr(pop, name), getattr(copy, name))
    with np.load(summary.out_dir / POPULATION_FILE, allow_pickle=False) as z:
        assert set(z.files) >= {"user_ids", "item_ids"}
    assert pop.n_users == users.height and pop.n_items == items.height
    uids, iids = users[USER_ID].to_list()[:50], items[ITEM_ID].to_list()[:50]
    p = pop.purchase_probability(uids, iids)
    assert p.shape == (50,) and ((p >= 0) & (p <= 1)).all()
    one_user = pop.purchase_probability([uids[0]], items[ITEM_ID].to_list())
    assert one_user.shape == (items.height,) and one_user.max() == pytest.approx(1.0)
    first_month = pop.purchase_probability([uids[0]], items[ITEM_ID].to_list(), at=summary.start_ts)
    unlaunched = (items["CREATION_TIMESTAMP"] > summary.start_ts).to_numpy()
    assert (first_month[unlaunched] == 0).all() and first_month.max() == pytest.approx(1.0)
    with pytest.raises(UnknownUser):
        pop.purchase_probability(["nobody"], iids[:1])
    with pytest.raises(UnknownItem):
        pop.purchase_probability(uids[:1], ["nothing"])


def test_hidden_tastes_explain_purchases(small):
    summary, _, items, events = small
    pop = Population.load(summary.out_dir)
    bought = events.group_by(USER_ID, ITEM_ID).len()
    p_bought = pop.purchase_probability(bought[USER_ID].to_list(), bought[ITEM_ID].to_list())
    rng = np.random.default_rng(0)
    random_items = items[ITEM_ID].to_numpy()[rng.integers(0, items.height, bought.height)]
    p_random = pop.purchase_probability(bought[USER_ID].to_list(), random_items)
    assert np.median(p_bought) > 5 * np.median(p_random)


def test_learnable_beyond_popularity(tmp_path: Path):
    """On the last 10% of time, category affinity from the past beats global popularity."""
    summary = generate(tmp_path, 0.05, seed=1)
    events = pl.read_csv(summary.out_dir / "interactions.csv")
    items = pl.read_csv(summary.out_dir / "items.csv").with_columns(
        pl.col("CATEGORY").str.split("|").list.first(), idx=pl.int_range(pl.len())
    )
    cut = summary.start_ts + 0.9 * (summary.end_ts - summary.start_ts)
    ev = events.join(items.select(ITEM_ID, "idx", "CATEGORY"), on=ITEM_ID)
    train, test = ev.filter(pl.col(TIMESTAMP) < cut), ev.filter(pl.col(TIMESTAMP) >= cut)
    users = sorted(set(test[USER_ID]) & set(train[USER_ID]))
    assert len(users) > 300
    cats = sorted(items["CATEGORY"].unique())
    cat_of = np.searchsorted(cats, items["CATEGORY"].to_numpy())
    pop = np.bincount(train["idx"].to_numpy(), minlength=items.height) + 1.0
    row = {u: k for k, u in enumerate(users)}
    tr = train.filter(pl.col(USER_ID).is_in(users))
    share = np.zeros((len(users), len(cats)))
    np.add.at(share, (tr[USER_ID].replace_strict(row).to_numpy(), np.searchsorted(cats, tr["CATEGORY"].to_numpy())), 1)
    share /= share.sum(axis=1, keepdims=True)
    top_cat = np.argsort(-(share[:, cat_of] * pop), axis=1)[:, :10]
    top_pop = np.argsort(-pop)[:10]
    te = test.filter(pl.col(USER_ID).is_in(users))
    truth = np.zeros((len(users), items.height), dtype=bool)
    truth[te[USER_ID].replace_strict(row).to_numpy(), te["idx"].to_numpy()] = True
    hit_cat = truth[np.arange(len(users))[:, None], top_cat].any(axis=1).mean()
    hit_pop = truth[:, top_pop].any(axis=1).mean()
    assert hit_pop > 0.05
    assert hit_cat > 1.3 * hit_pop


def test_tiny_scale_still_valid(tmp_path: Path):
    summary = generate(tmp_path, 0.002, seed=5)
    events = pl.read_csv(summary.out_dir / "interactions.csv")
    assert summary.n_users == 361 and summary.n_items >= 200
    assert events.height == summary.n_interactions > 100
    assert summary.n_users_with_orders == events[USER_ID].n_unique() > 0


def test_progress_reported_and_bad_scale_rejected(tmp_path: Path):
    seen: list[tuple[str, float]] = []
    generate(tmp_path, 0.002, progress=lambda stage, frac: seen.append((stage, frac)))
    fracs = [f for _, f in seen]
    assert fracs == sorted(fracs) and fracs[-1] == 1.0 and len(seen) >= 4
    with pytest.raises(ConfigError):
        generate(tmp_path, 0.0)


@pytest.mark.slow
def test_reference_scale_counts_and_time(tmp_path: Path):
    t0 = time.perf_counter()
    summary = generate(tmp_path, 1.0, seed=0)
    elapsed = time.perf_counter() - t0
    assert elapsed < 60, elapsed
    assert summary.n_users == 180_483 and summary.n_items == 4_182
    assert abs(summary.n_interactions - 1_970_000) < 0.05 * 1_970_000
    assert abs(summary.n_users_with_orders - 74_000) < 0.05 * 74_000
    events = pl.read_csv(summary.out_dir / "interactions.csv", columns=[USER_ID])
    assert events.height == summary.n_interactions
    assert 30_000 <= events.group_by(USER_ID).len()["len"].max() <= 60_000
