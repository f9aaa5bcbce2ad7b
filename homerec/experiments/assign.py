# SPDX-License-Identifier: Apache-2.0
"""Which variant a user sees: a pure salted hash, the same in every process, replica and restart.

A user's position on the unit interval is

    u = (first 8 bytes of blake2b(f"{salt}:{user_id}" as UTF-8), big-endian) >> 11) / 2**53

a uniform number in [0, 1) with 53 exact bits. Salts hold no `:` (the spec checks), so the
hashed text names one (salt, user) pair: `("a", "bc")` and `("ab", "c")` stay apart. The variants cover [0, 1) in their order as consecutive buckets
`[s1 + … + s(i-1), s1 + … + si)`, so the first variant (the control, as the CLI creates
experiments) sits at the bottom and the last at the top. With two variants, a candidate
that grows (10 % → 50 %) only takes users from the control: everyone who saw the candidate
at 10 % still sees it at 50 %, and a shrink only gives users back. With three or more,
that holds for the first and the last variant when the ones between keep their shares.

Only the standard library and numpy are imported here, so serving can use it freely.
"""

from bisect import bisect_right
from collections.abc import Iterable
from hashlib import blake2b
from itertools import accumulate
from typing import NamedTuple

import numpy as np

from homerec.experiments.spec import Experiment

_SCALE = float(2**53)


def unit(salt: str, user_id: str) -> float:
    """The user's position in [0, 1) for this salt (see the module docstring)."""
    digest = blake2b(f"{salt}:{user_id}".encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") >> 11) / _SCALE


def _bounds(experiment: Experiment) -> list[float]:
    """Upper ends of the variants' buckets, accumulated in variant order."""
    return list(accumulate(v.share for v in experiment.variants))


def _last_nonempty(experiment: Experiment) -> int:
    """Where a position at or above the last bound (a rounding leftover) goes."""
    return max(i for i, v in enumerate(experiment.variants) if v.share > 0)


def assign(experiment: Experiment, user_id: str) -> str:
    """The name of the variant `user_id` belongs to (whatever the mode; see `route`)."""
    index = bisect_right(_bounds(experiment), unit(experiment.salt, str(user_id)))
    if index >= len(experiment.variants):
        index = _last_nonempty(experiment)
    return experiment.variants[index].name


def assign_many(experiment: Experiment, user_ids: Iterable[str]) -> list[str]:
    """`assign` for many users at once (for reports); the same answers, faster."""
    salt = experiment.salt
    digests = b"".join(blake2b(f"{salt}:{u}".encode(), digest_size=8).digest() for u in user_ids)
    positions = (np.frombuffer(digests, dtype=">u8") >> np.uint64(11)).astype(np.float64) / _SCALE
    index = np.searchsorted(np.array(_bounds(experiment)), positions, side="right")
    index[index >= len(experiment.variants)] = _last_nonempty(experiment)
    names = np.array([v.name for v in experiment.variants], dtype=object)
    return names[index].tolist()


class Route(NamedTuple):
    """What serving does for one user: the variant whose list is shown, and one computed only to log it."""

    served: str
    shadow: str | None


def route(experiment: Experiment, user_id: str) -> Route:
    """`split`: serve the assigned variant. `shadow`: serve the control, and compute (and log
    as not served) the assigned variant when it is not the control."""
    assigned = assign(experiment, user_id)
    if experiment.mode == "split":
        return Route(assigned, None)
    return Route(experiment.control, None if assigned == experiment.control else assigned)
