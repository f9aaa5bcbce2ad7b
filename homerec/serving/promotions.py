# SPDX-License-Identifier: Apache-2.0
"""Promotions: a share of a list's slots filled with items of a promotion's filter (Personalize `promotions`).

As Personalize documents them: `percentPromotedItems` of the `k` slots (rounded up) go to the
best items of the promotion's filter for this user, ranked by the same model; the request's
own filter does not apply to them, and an item is never listed twice. Promoted items take
random positions among the others but keep their own order; each is tagged with the
promotion's name (`promotionName`, reason "Promoted item"). When the filter has fewer items,
the list holds as many as there are. The positions are drawn from a generator seeded with the
answer's recommendation id, so one answer is reproducible from its id.
"""

import hashlib
import math
import random
from dataclasses import replace

from homerec.types import Recommendation


def slots(k: int, percent: int) -> int:
    """How many of `k` slots a promotion of `percent` % takes (rounded up, at most k)."""
    return min(k, math.ceil(k * percent / 100)) if k > 0 else 0


def merge(main: list[Recommendation], promoted: list[Recommendation], k: int, name: str,
          seed: str) -> list[Recommendation]:
    """`k` items: the promoted ones (tagged `name`) at random positions, in their order, among the best of `main`."""
    return interleave(main, [replace(r, promotion=name) for r in promoted[:k]], k, seed)


def interleave(main: list[Recommendation], chosen: list[Recommendation], k: int, seed: str) -> list[Recommendation]:
    """At most `k` items: `chosen` (in their order) at positions drawn from `seed`, the best of `main` around them.

    The same seed gives the same positions (promotions seed with the response id, exploration
    with the user and the day)."""
    chosen = chosen[:k]
    taken = {r.item_id for r in chosen}
    rest = [r for r in main if r.item_id not in taken][: k - len(chosen)]
    rng = random.Random(int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big"))
    positions = sorted(rng.sample(range(len(rest) + len(chosen)), len(chosen)))
    out: list[Recommendation] = []
    promoted_iter, rest_iter = iter(chosen), iter(rest)
    for pos in range(len(rest) + len(chosen)):
        out.append(next(promoted_iter) if positions and positions[0] == pos else next(rest_iter))
        if positions and positions[0] == pos:
            positions.pop(0)
    return out
