# SPDX-License-Identifier: Apache-2.0
"""Assignment: shares met over 100,000 users, the same answer in another process, monotone growth."""

import json
import subprocess
import sys

import pytest

from homerec.experiments.assign import assign, assign_many, route, unit
from homerec.experiments.spec import Experiment, Variant

USERS = [f"user-{n}" for n in range(100_000)]


def experiment(*shares: float, salt: str = "s1", mode: str = "split") -> Experiment:
    names = ["control", "candidate", "third"][: len(shares)]
    variants = tuple(Variant(n, "model:active" if n == "control" else f"model:v{i + 1}", s)
                     for i, (n, s) in enumerate(zip(names, shares)))  # fmt: skip
    return Experiment("exp", salt, mode, "control", variants)


@pytest.mark.parametrize("shares", [(0.9, 0.1), (0.5, 0.5), (0.2, 0.3, 0.5), (0.0, 1.0), (1.0, 0.0)])
def test_100k_users_match_the_shares_within_one_point(shares):
    exp = experiment(*shares)
    got = assign_many(exp, USERS)
    for variant in exp.variants:
        observed = got.count(variant.name) / len(USERS)
        assert abs(observed - variant.share) <= 0.01, (variant.name, observed)
    assert set(got) == {v.name for v in exp.variants if v.share > 0}


def test_assign_many_agrees_with_assign():
    exp = experiment(0.2, 0.3, 0.5)
    assert assign_many(exp, USERS[:3000]) == [assign(exp, u) for u in USERS[:3000]]
    assert assign_many(exp, []) == []


def test_another_process_assigns_the_same():
    exp = experiment(0.5, 0.5)
    code = (
        "import json, sys\n"
        "from homerec.experiments.assign import assign_many\n"
        "from homerec.experiments.spec import Experiment\n"
        "exp = Experiment.from_json(sys.stdin.readline())\n"
        "print(json.dumps(assign_many(exp, [f'user-{n}' for n in range(100_000)])))\n"
    )
    # A different hash seed in the child: Python's hash() would differ, our assignment must not.
    run = subprocess.run([sys.executable, "-c", code], input=exp.to_json() + "\n", capture_output=True, text=True,
                         timeout=120, check=True, env={"PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin"})  # fmt: skip
    assert json.loads(run.stdout) == assign_many(exp, USERS)


def test_positions_are_pinned():
    """The hash is part of the contract: changing it would reshuffle every running experiment."""
    assert 0 <= unit("", "") < 1
    assert [round(unit("s1", u), 12) for u in ("u10", "u20", "Café")] == [0.337117425416, 0.727025695831, 0.497143027395]
    assert unit("s1", "u10") != unit("s2", "u10") and unit("a", "bc") != unit("ab", "c")


def test_growing_the_candidate_keeps_its_users():
    small, large = experiment(0.9, 0.1), experiment(0.5, 0.5)
    before, after = assign_many(small, USERS), assign_many(large, USERS)
    moved = [(b, a) for b, a in zip(before, after) if b != a]
    assert moved and all(b == "control" and a == "candidate" for b, a in moved)
    assert after.count("candidate") > 4 * before.count("candidate")
    everyone = assign_many(small.with_traffic(100), USERS)
    assert set(everyone) == {"candidate"}


def test_the_salt_reshuffles_users():
    a = assign_many(experiment(0.5, 0.5, salt="a"), USERS[:10_000])
    b = assign_many(experiment(0.5, 0.5, salt="b"), USERS[:10_000])
    agree = sum(x == y for x, y in zip(a, b)) / 10_000
    assert 0.45 < agree < 0.55  # independent halves agree about half the time


def test_rolled_back_sends_everyone_to_the_control():
    exp = experiment(0.2, 0.3, 0.5).rolled_back()
    assert set(assign_many(exp, USERS[:5000])) == {"control"}


def test_route_in_shadow_mode_serves_the_control():
    split, shadow = experiment(0.5, 0.5), experiment(0.5, 0.5, mode="shadow")
    for user in USERS[:200]:
        assigned = assign(split, user)
        assert route(split, user) == (assigned, None)
        assert route(shadow, user) == ("control", None if assigned == "control" else assigned)
