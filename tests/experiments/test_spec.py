# SPDX-License-Identifier: Apache-2.0
"""Experiment specs: validation with clear messages, JSON round trips, traffic operations."""

import pytest

from homerec.errors import InputError
from homerec.experiments.spec import Experiment, Variant, active_experiment
from homerec.storage.base import ExperimentRow

ENDPOINT = "endpoint:http://127.0.0.1:9000/prefix#arn:aws:personalize:eu-west-1:123456789012:campaign/shop"


def two(share: float = 0.1, **kw) -> Experiment:
    variants = (Variant("control", "model:active", 1 - share), Variant("candidate", "model:v3", share))
    return Experiment(**{"name": "exp", "salt": "s1", "mode": "split", "control": "control", "variants": variants, **kw})


def three() -> Experiment:
    variants = (Variant("control", "model:active", 0.5), Variant("b", "model:v2", 0.3), Variant("c", ENDPOINT, 0.2))
    return Experiment("exp3", "s1", "shadow", "control", variants, guardrail="conversion", created_at=1_700_000_000)


def test_json_round_trip():
    for exp in (two(), three(), three().rolled_back()):
        assert Experiment.from_json(exp.to_json()) == exp
    assert three().variant("c").endpoint == (
        "http://127.0.0.1:9000/prefix", "arn:aws:personalize:eu-west-1:123456789012:campaign/shop"
    )  # fmt: skip
    assert three().variant("c").model_version is None and three().variant("b").model_version == "v2"
    assert two().variant("control").model_version == "active" and two().variant("control").endpoint is None


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Variant("b", "model:latest", 0.5), "bad source 'model:latest'"),
        (lambda: Variant("b", "model:v0", 0.5), "bad source"),
        (lambda: Variant("b", "endpoint:http://host", 0.5), "CAMPAIGN_ARN"),
        (lambda: Variant("b", "endpoint:ftp://host#arn:x", 0.5), "bad source"),
        (lambda: Variant("b", "als", 0.5), "model:active"),
        (lambda: Variant("b", "model:v2", 1.5), r"share 1.5 is not a number in \[0, 1\]"),
        (lambda: Variant("b", "model:v2", -0.1), "share"),
        (lambda: Variant("b c", "model:v2", 0.5), "bad variant name 'b c'"),
        (lambda: Variant("b", ENDPOINT, 0.5, timeout_ms=0), "timeout_ms"),
        (lambda: two(0.1, control="nobody"), "the control 'nobody' is not a variant"),
        (lambda: two(0.1, mode="canary"), "mode 'canary'"),
        (lambda: two(0.1, status="paused"), "status 'paused'"),
        (lambda: two(0.1, salt=""), "bad salt"),
        (lambda: two(0.1, salt="a:b"), "bad salt"),
        (lambda: two(0.1, name=""), "bad experiment name"),
        (lambda: two(0.1, guardrail=" "), "guardrail"),
        (lambda: two(0.1, created_at=-1), "created_at"),
        (lambda: Experiment("e", "s", "split", "a", (Variant("a", "model:active", 1.0),)), "at least two variants"),
        (lambda: Experiment("e", "s", "split", "a", (Variant("a", "model:active", 0.5), Variant("a", "model:v1", 0.5))),
         "variant names repeat"),
        (lambda: Experiment("e", "s", "split", "a", (Variant("a", "model:active", 0.5), Variant("b", "model:v1", 0.4))),
         "shares sum to 0.9, not 1"),
    ],
)
def test_invalid_specs_raise_input_error(build, message):
    with pytest.raises(InputError, match=message):
        build()


def test_shares_may_miss_one_by_rounding_only():
    Experiment("e", "s", "split", "a", (Variant("a", "model:active", 0.7), Variant("b", "model:v1", 0.1),
                                        Variant("c", "model:v2", 0.2)))  # fmt: skip  # sums to 0.9999999999999999
    with pytest.raises(InputError, match="shares sum"):
        Experiment("e", "s", "split", "a", (Variant("a", "model:active", 0.5), Variant("b", "model:v1", 0.5 + 1e-8)))


@pytest.mark.parametrize("text", ["", "{", "[]", '{"name": "e"}', two().to_json().replace('"split"', '"sideways"')])
def test_bad_json_is_an_input_error(text):
    with pytest.raises(InputError):
        Experiment.from_json(text)


def test_traffic_moves_between_control_and_candidate():
    exp = two(0.1)
    assert exp.with_traffic(50).shares == {"control": 0.5, "candidate": 0.5}
    assert exp.with_traffic(100).shares == {"control": 0.0, "candidate": 1.0}
    assert exp.with_traffic(0).shares == {"control": 1.0, "candidate": 0.0}
    assert exp.with_traffic(100).with_traffic(10).shares == pytest.approx({"control": 0.9, "candidate": 0.1})
    assert exp.with_traffic(70, variant="control").shares == pytest.approx({"control": 0.7, "candidate": 0.3})
    assert exp.with_traffic(33.3).status == "running" and exp.with_traffic(50).salt == exp.salt


def test_traffic_with_three_variants_scales_the_others():
    exp = three()
    with pytest.raises(InputError, match="several candidates"):
        exp.with_traffic(10)
    moved = exp.with_traffic(60, variant="c")
    assert moved.shares == pytest.approx({"control": 0.5 * 0.4 / 0.8, "b": 0.3 * 0.4 / 0.8, "c": 0.6})
    assert sum(moved.shares.values()) == pytest.approx(1, abs=1e-12)
    # From a rollback (others all 0), the control takes what the named variant does not.
    assert exp.rolled_back().with_traffic(20, variant="b").shares == pytest.approx({"control": 0.8, "b": 0.2, "c": 0})
    assert exp.with_traffic(100, variant="control").with_traffic(40, variant="control").shares == pytest.approx(
        {"control": 0.4, "b": 0.3, "c": 0.3}
    )


@pytest.mark.parametrize(("percent", "variant", "message"), [(101, None, r"\[0, 100\]"), (-1, None, "percentage"),
                                                             (10, "zzz", "no variant 'zzz'")])  # fmt: skip
def test_bad_traffic(percent, variant, message):
    with pytest.raises(InputError, match=message):
        two().with_traffic(percent, variant)


def test_stop_rollback_and_mode():
    exp = two(0.3)
    assert exp.stopped().status == "stopped" and exp.stopped().shares == exp.shares
    back = exp.rolled_back()
    assert back.status == "rolled_back" and back.shares == {"control": 1.0, "candidate": 0.0}
    assert exp.in_mode("shadow").mode == "shadow" and exp.in_mode("shadow").in_mode("split").mode == exp.mode
    # every change of allocation starts a new report period
    assert exp.changed_at == 0 and exp.period_start == exp.created_at
    for changed in (exp.in_mode("shadow"), exp.with_traffic(50), back):
        assert changed.changed_at >= exp.created_at and changed.period_start == changed.changed_at
    assert Experiment.from_json(back.to_json()) == back
    with pytest.raises(InputError, match="mode 'dark'"):
        exp.in_mode("dark")


def test_active_experiment():
    def row(exp: Experiment) -> ExperimentRow:
        return ExperimentRow(exp.name, exp.to_json(), exp.status, 0, 0)

    assert active_experiment([]) is None
    assert active_experiment([row(two().stopped()), row(three().rolled_back())]) is None
    assert active_experiment([row(two().stopped()), row(three())]) == three()
    with pytest.raises(InputError, match="several experiments are running"):
        active_experiment([row(two()), row(three())])
