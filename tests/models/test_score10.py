# SPDX-License-Identifier: Apache-2.0
"""The calibrated 0-10 score: exactly numpy's interpolation over the calibration quantiles."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from homerec.models.popularity import Popularity

QUANTILES = np.array([0.0, 0.1, 0.1, 0.1, 0.25, 0.4, 0.4, 0.9, 1.5, 1.5], dtype=np.float32)  # ties included


def model() -> Popularity:
    m = Popularity()
    m.calibration_ = QUANTILES
    return m


@given(st.lists(st.floats(min_value=-1.0, max_value=2.0, allow_nan=False), min_size=1, max_size=20))
def test_matches_numpy_interp(raw):
    expected = np.round(10.0 * np.interp(raw, QUANTILES, np.linspace(0.0, 1.0, len(QUANTILES))), 3)
    got = model().score10_many(raw)
    assert np.allclose(got, expected, atol=1.5e-3)


def test_edges_and_non_finite_scores():
    m = model()
    q = [float(v) for v in QUANTILES]
    assert m.score10(-5.0) == 0.0 and m.score10(q[-1]) == 10.0 and m.score10(9.0) == 10.0
    assert m.score10(float("-inf")) == 0.0 and m.score10(float("nan")) == 0.0
    assert m.score10(q[1]) == round(10.0 * 3 / 9, 3)  # a tied quantile: numpy's rule, the last of the ties
    m.calibration_ = np.linspace(0.0, 1.0, 11, dtype=np.float32)  # a new calibration is picked up
    assert m.score10(0.5) == 5.0
