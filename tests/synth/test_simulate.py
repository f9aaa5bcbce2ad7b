# SPDX-License-Identifier: Apache-2.0
"""The simulator's click model and hidden world, and its answers to bad input (no server needed)."""

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from homerec.data.schema import ITEM_ID, USER_ID
from homerec.errors import ConfigError, InputError
from homerec.synth import POPULATION_FILE, generate
from homerec.synth.clicks import ClickModel, World, load_world
from homerec.synth.simulate import simulate
from tests.live import free_port


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """A scale-0.005 generated folder (209 items, about 900 users)."""
    out = tmp_path_factory.mktemp("sim")
    generate(out, scale=0.005, seed=5)
    return out


@pytest.fixture(scope="module")
def world(folder) -> World:
    return load_world(folder)


def test_the_users_true_favourites_get_a_higher_ctr_than_the_most_popular_items(world, folder):
    inter = pl.read_csv(folder / "interactions.csv")
    popular = inter.group_by(ITEM_ID).len().sort(["len", ITEM_ID], descending=[True, False])[ITEM_ID].head(10).to_list()
    model = ClickModel()
    best, pop = [], []
    for user in world.customers[:300]:
        best.append(model.expected_ctr(world.affinity(user, world.best_items(user, 10))))
        pop.append(model.expected_ctr(world.affinity(user, popular)))
    assert np.mean(best) > 3 * np.mean(pop)
    assert np.mean(np.array(best) > np.array(pop)) > 0.95
    assert 0.02 < np.mean(pop) < np.mean(best) < 0.5  # plausible click-through rates


def test_position_bias_and_affinity_both_raise_clicks(world):
    model = ClickModel()
    user = world.customers[0]
    favourites = world.best_items(user, 10)
    a = world.affinity(user, favourites)
    assert a[0] == 0.0 and np.all(np.diff(a) <= 0) and np.all(a <= 0)
    assert model.expected_ctr(a) > model.expected_ctr(a[::-1])  # best first beats best last
    examine = ClickModel.examine(10)
    assert examine[0] == 1.0 and np.all(np.diff(examine) < 0)
    p = model.click_probability(np.array([0.0, -2.0, -5.0]))
    assert p[0] > p[1] > p[2] > 0


def test_an_item_the_world_does_not_know_is_never_clicked(world):
    user = world.customers[0]
    a = world.affinity(user, ["not-an-item", world.best_items(user, 1)[0]])
    assert a[0] == -np.inf and a[1] == 0.0
    p = ClickModel().click_probability(a)
    assert p[0] == 0.0 and p[1] == pytest.approx(1 / (1 + np.exp(0.5)) / np.log2(3))


def test_reactions_are_seeded(world):
    model = ClickModel(bias=2.0, slope=0.5, purchase_share=0.5)
    a = world.affinity(world.customers[1], world.best_items(world.customers[1], 50))
    c1, b1 = model.react(a, np.random.default_rng([7, 3]))
    c2, b2 = model.react(a, np.random.default_rng([7, 3]))
    c3, _ = model.react(a, np.random.default_rng([7, 4]))
    assert np.array_equal(c1, c2) and np.array_equal(b1, b2)
    assert not np.array_equal(c1, c3)
    assert c1.any() and b1.any() and not (b1 & ~c1).any()  # a purchase always follows a click


def test_users_mix_customers_and_newcomers_by_seed(world, folder):
    ordered = set(pl.read_csv(folder / "interactions.csv")[USER_ID].unique().to_list())
    assert len(world.customers) and len(world.newcomers)
    assert set(world.customers.tolist()) == ordered and not ordered & set(world.newcomers.tolist())
    users = world.pick_users(np.random.default_rng(1), 2000, 0.25)
    assert np.array_equal(users, world.pick_users(np.random.default_rng(1), 2000, 0.25))
    new_share = np.isin(users, world.newcomers).mean()
    assert 0.21 < new_share < 0.29
    assert not np.isin(world.pick_users(np.random.default_rng(1), 200, 0.0), world.newcomers).any()
    assert world.prices[world.population.item_ids[0]] > 0


def test_a_folder_that_is_not_generated_is_a_one_line_input_error(tmp_path, folder):
    with pytest.raises(InputError, match="no such folder"):
        load_world(tmp_path / "missing")
    (tmp_path / "items.csv").write_bytes((folder / "items.csv").read_bytes())
    with pytest.raises(InputError, match=POPULATION_FILE):
        load_world(tmp_path)


def test_an_unreachable_server_is_a_one_line_input_error(folder):
    with pytest.raises(InputError, match="cannot reach a homerec server"):
        simulate(folder, f"http://127.0.0.1:{free_port()}", requests=5, timeout_s=2)
    with pytest.raises(InputError, match="bad server URL|cannot reach"):
        simulate(folder, "no-scheme:////", requests=5, timeout_s=2)


@pytest.mark.parametrize("bad", [{"requests": -1}, {"concurrency": 0}, {"duration": 0}, {"new_user_share": 1.5}])
def test_out_of_range_arguments_are_config_errors(folder, bad):
    with pytest.raises(ConfigError):
        simulate(folder, **bad)
