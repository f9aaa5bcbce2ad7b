# SPDX-License-Identifier: Apache-2.0
"""How synthetic shoppers react to a served list: the click model and the hidden world it reads.

The simulator (`homerec.synth.simulate`) shows each list to a customer of a generated folder
and lets this module decide, from the generator's hidden tastes, what gets clicked and bought.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from scipy.special import expit

from homerec.data.schema import ITEM_ID, USER_ID
from homerec.errors import InputError
from homerec.synth.generate import INTERACTIONS_FILE, ITEMS_FILE
from homerec.synth.population import POPULATION_FILE, Population

PRICE = "PRICE"


@dataclass(frozen=True)
class ClickModel:
    """A position-based click model over the generator's own preference scale.

    An item shown at 0-based position ``p`` with affinity ``a`` is clicked with probability
    ``examine(p) * attract(a)``:

    - ``examine(p) = 1 / log2(p + 2)``: the DCG discount. The first slot is always looked at,
      the tenth 29% of the time, so the same items earn fewer clicks lower in the list.
    - ``attract(a) = sigmoid(bias + slope * a)``, where ``a = logit(user, item) - max over items
      of logit(user, .)`` is the log of `Population.purchase_probability`: 0 for the user's
      favourite item, -1 for an item the generator makes e times less likely to be bought.
      With the defaults the favourite attracts 38%, ``a = -2`` 13% and ``a = -5`` 1.8%; an
      item the hidden world does not know has ``a = -inf`` and is never clicked.

    Attraction rises with the true preference, so a list that puts the user's truly preferred
    items first earns more clicks than a popularity list: a good model wins an A/B test.
    A clicked item is bought with probability `purchase_share`.
    """

    bias: float = -0.5
    slope: float = 0.7
    purchase_share: float = 0.3

    @staticmethod
    def examine(n: int) -> np.ndarray:
        """Probability that each of the first n positions is looked at."""
        return 1.0 / np.log2(np.arange(n) + 2.0)

    def click_probability(self, affinity: np.ndarray) -> np.ndarray:
        """Click probability of each shown item, given its affinity, in list order."""
        affinity = np.asarray(affinity, dtype=np.float64)
        return self.examine(len(affinity)) * expit(self.bias + self.slope * affinity)

    def expected_ctr(self, affinity: np.ndarray) -> float:
        """Expected clicks per shown item of one list (0 for an empty list)."""
        p = self.click_probability(affinity)
        return float(p.mean()) if len(p) else 0.0

    def react(self, affinity: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw (clicked, bought) boolean masks for one shown list; bought implies clicked."""
        p = self.click_probability(affinity)
        clicked = rng.random(len(p)) < p
        bought = clicked & (rng.random(len(p)) < self.purchase_share)
        return clicked, bought


@dataclass(frozen=True, eq=False)
class World:
    """The hidden side of a generated folder: tastes, prices and who has ordered before.

    Attributes:
        population: The generator's hidden tastes.
        prices: Item id → unit price from items.csv.
        customers: Ids of users with orders in interactions.csv (known to a server that imported them).
        newcomers: Ids of users with tastes but no orders (new to the server: its cold-start path).
    """

    population: Population
    prices: dict[str, float]
    customers: np.ndarray
    newcomers: np.ndarray

    def __post_init__(self) -> None:
        ids = self.population.item_ids
        object.__setattr__(self, "_col", dict(zip(ids.tolist(), range(len(ids)))))
        self.affinity(self.population.user_ids[0], [])  # builds the population's caches before threads share it

    def affinity(self, user_id: str, item_ids: list[str]) -> np.ndarray:
        """Affinity (log purchase probability, <= 0) of a user for each item; -inf for unknown items.

        Raises:
            UnknownUser: The user is not in the hidden tastes.
        """
        logits = self.population.logits(self.population.user_rows([user_id]))[0]
        best = logits[np.isfinite(logits)].max()
        cols = np.array([self._col.get(i, -1) for i in item_ids], dtype=np.intp)
        out = np.full(len(cols), -np.inf)
        known = cols >= 0
        out[known] = logits[cols[known]] - best
        return out

    def best_items(self, user_id: str, k: int) -> list[str]:
        """The user's k truly preferred items, best first (what a perfect model would show)."""
        logits = self.population.logits(self.population.user_rows([user_id]))[0]
        return self.population.item_ids[np.argsort(-logits, kind="stable")[:k]].tolist()

    def pick_users(self, rng: np.random.Generator, n: int, new_user_share: float) -> np.ndarray:
        """n user ids: a `new_user_share` fraction of newcomers (when there are any), the rest customers."""
        new_ids = self.newcomers if len(self.newcomers) else self.customers
        old_ids = self.customers if len(self.customers) else self.newcomers
        return np.where(rng.random(n) < new_user_share, rng.choice(new_ids, n), rng.choice(old_ids, n))


def load_world(data_dir: str | Path) -> World:
    """Read hidden_tastes.npz, items.csv and the user ids of interactions.csv of a generated folder.

    Raises:
        InputError: The folder or one of its files is missing, or it holds no users.
    """
    folder = Path(data_dir)
    if not folder.is_dir():
        raise InputError(f"no such folder: {folder} (write one with `homerec generate {folder}`)")
    for name in (POPULATION_FILE, ITEMS_FILE, INTERACTIONS_FILE):
        if not (folder / name).is_file():
            raise InputError(f"{folder} has no {name}: simulate needs a folder written by `homerec generate`")
    population = Population.load(folder)
    if population.n_users == 0 or population.n_items == 0:
        raise InputError(f"{folder / POPULATION_FILE} holds no users or no items")
    items = pl.read_csv(folder / ITEMS_FILE, columns=[ITEM_ID, PRICE], schema_overrides={ITEM_ID: pl.String})
    prices = dict(zip(items[ITEM_ID].to_list(), items[PRICE].cast(pl.Float64).to_list()))
    ordered = (pl.scan_csv(folder / INTERACTIONS_FILE, schema_overrides={USER_ID: pl.String})
               .select(USER_ID).unique().collect()[USER_ID].to_numpy().astype(str))
    known = np.isin(population.user_ids, ordered)
    return World(population, prices, np.sort(population.user_ids[known]), np.sort(population.user_ids[~known]))
