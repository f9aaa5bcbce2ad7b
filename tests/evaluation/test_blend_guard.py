# SPDX-License-Identifier: Apache-2.0
"""The blend is kept only when it beats its best part by more than one standard error on validation."""

import numpy as np

from homerec.evaluation.blend import keep_blend


def test_a_clear_gain_keeps_the_blend():
    rng = np.random.default_rng(0)
    part_a, part_b = rng.random(500) * 0.2, rng.random(500) * 0.1
    keep, best = keep_blend(part_a + 0.05, [part_a, part_b])
    assert keep and best == 0


def test_a_gain_within_noise_serves_the_best_part():
    rng = np.random.default_rng(1)
    part_a, part_b = rng.random(50), rng.random(50) * 0.5
    noisy_blend = part_a + rng.normal(0, 0.3, 50) + 0.01
    keep, best = keep_blend(noisy_blend, [part_a, part_b])
    assert not keep and best == 0
    keep, _ = keep_blend(part_a, [part_a, part_b])  # no gain at all
    assert not keep
