# SPDX-License-Identifier: Apache-2.0
"""Scores on Personalize's scale: a softmax over the catalogue of calibrated logits, order kept, within [0, 1]."""

import numpy as np
import pytest

from homerec.models import MODELS
from homerec.models.relative import (
    SPAN,
    floor_digits,
    log_partition,
    logits,
    ranking_scores,
    relative,
    user_log_partition,
)
from homerec.models.one_user import OneHistory
from tests.models.conftest import USERS, checkerboard_frame


@pytest.fixture(params=["als", "item_knn", "popularity"])
def model(request, checkerboard):
    return MODELS[request.param]().fit(checkerboard)


def test_the_catalogue_sums_to_one_and_order_is_kept(model):
    raw = model.score_one(model.users_.get(USERS[0]), OneHistory.of(model.items_, None))
    finite = raw[np.isfinite(raw)]
    p = relative(model, finite[None, :], log_partition(model, finite[None, :]))[0]
    assert 0.999 < p.sum() <= 1.0 and ((0 <= p) & (p <= 1)).all()
    order = np.argsort(-finite, kind="stable")
    assert (np.diff(p[order]) <= 0).all()  # never higher for a lower raw score


def test_a_returned_list_sums_to_less_and_does_not_depend_on_its_length(model):
    user = USERS[1]
    frame = checkerboard_frame()
    history = frame.filter(frame["user_id"] == user)["item_id"].to_list()
    recs = model.recommend(user, 5, history=history, exclude_seen=False)
    log_z = user_log_partition(model, user, history)
    assert log_z is not None
    five = relative(model, [[r.score for r in recs]], [log_z])[0]
    three = relative(model, [[r.score for r in recs[:3]]], [log_z])[0]
    assert five[:3].tolist() == three.tolist() and five.sum() < 1.0


def test_the_calibration_sets_the_temperature(model):
    q = model.calibration_
    z = logits(model, np.array([q[0], q[-1]]))
    assert z[1] == pytest.approx(0.0) and z[0] == pytest.approx(-SPAN if q[-1] > q[0] else 0.0)
    assert logits(model, np.array([-np.inf]))[0] == -np.inf


def test_a_user_on_the_fallback_has_no_relevance_score(model):
    assert user_log_partition(model, "never-seen", None) is None


def test_ranking_scores_sum_to_one_over_the_known_inputs(model):
    scores = ranking_scores(model, [3.0, 1.0, 0.0], [True, True, False])
    assert scores[2] == 0.0 and scores[0] >= scores[1] > 0 and 0.999 < sum(scores) <= 1.0
    assert ranking_scores(model, [1.0], [False]) == [0.0]


def test_rounding_goes_down_to_six_significant_digits():
    got = floor_digits(np.array([0.123456789, 1.23456789e-7, 0.0, 1.0]))
    assert got.tolist() == [0.123456, 1.23456e-7, 0.0, 1.0]
    p = np.full(7, 1 / 7)
    assert floor_digits(p).sum() <= 1.0
