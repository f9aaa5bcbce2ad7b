# SPDX-License-Identifier: Apache-2.0
"""Scores on AWS Personalize's scale: relative values in [0, 1] that sum to 1 over the catalogue.

Personalize's User-Personalization scores are a softmax over every item of the catalogue for
one user, so each lies in [0, 1], the whole catalogue sums to 1, and a returned list (a few
of them, what the filters left) sums to less. Personalized-Ranking does the same over the
input items only (items unknown to the model get 0). Items of the popularity fallback carry
no relevance score (Personalize's "Popular item" placeholders). Here, for a model `m`:

    logit(i) = SPAN * (raw(i) - q_hi) / (q_hi - q_lo)
    score(i) = exp(logit(i) - logsumexp_j logit(j))     j: every item m can score (or the inputs)

with `q_lo`, `q_hi` the lowest and highest of the model's typical top-10 raw scores (its 0-10
calibration, `Recommender.calibration_`). The logit is linear in the raw score, so the order is
the model's; the calibration sets the temperature, so the spread of a model's typical top
list always covers `SPAN` nats, whatever scale its raw scores have. The normaliser is taken
over the whole catalogue before any exclusion or filter, so the same user and item get the
same score however many items are asked for and whatever is filtered out: the runtime API
(`homerec.serving`) and `homerec batch --format personalize` call these functions alike.
Scores are rounded down to `DIGITS` significant digits (never up, so sums stay within 1).
"""

from collections.abc import Sequence

import numpy as np

from homerec.models.base import History, Recommender
from homerec.models.one_user import OneHistory

SPAN = 6.0
"""Logits between the lowest and the highest typical top-10 raw score of a model."""
DIGITS = 6
"""Significant digits kept (rounded down)."""
_SHRINK = 1.0 - 1e-9
"""Applied before rounding down, so float error in the normaliser (1e-16 a term) cannot lift a sum over 1."""


def logits(model: Recommender, raw: np.ndarray) -> np.ndarray:
    """Calibrated logits of raw scores (float64; -inf where the model cannot score)."""
    q = np.asarray(model.calibration_, dtype=np.float64)
    lo, hi = float(q[0]), float(q[-1])
    spread = hi - lo if hi > lo else (abs(hi) or 1.0)
    x = np.asarray(raw, dtype=np.float64)
    return np.where(np.isfinite(x), SPAN * (x - hi) / spread, -np.inf)


def log_partition(model: Recommender, scores: np.ndarray) -> np.ndarray:
    """Per row of raw scores (b, n): the log of the softmax normaliser over its scorable items (-inf: none)."""
    z = logits(model, np.atleast_2d(scores))
    top = z.max(axis=1, keepdims=True)
    safe = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return (safe + np.log(np.exp(z - safe).sum(axis=1, keepdims=True)))[:, 0]


def floor_digits(p: np.ndarray, digits: int = DIGITS) -> np.ndarray:
    """`p` rounded down to `digits` significant digits (0 stays 0)."""
    p = np.asarray(p, dtype=np.float64)
    out = np.zeros_like(p)
    pos = p > 0
    scale = 10.0 ** (digits - 1 - np.floor(np.log10(p[pos])))
    out[pos] = np.floor(p[pos] * scale) / scale
    return out


def relative(model: Recommender, raw: np.ndarray, log_z: np.ndarray) -> np.ndarray:
    """Personalize scores of raw scores (b, k) given each row's `log_partition` (b,)."""
    z = logits(model, np.atleast_2d(raw)) - np.asarray(log_z, dtype=np.float64).reshape(-1, 1)
    with np.errstate(invalid="ignore"):
        p = np.where(np.isfinite(z), np.exp(np.minimum(z, 0.0)), 0.0)
    return floor_digits(p * _SHRINK)


def user_log_partition(model: Recommender, user_id: str | None, history: History | None) -> float | None:
    """One user's normaliser, scored as `Recommender.recommend` scores them; None for a user who gets
    the popularity fallback (those items carry no relevance score)."""
    uidx = model.users_.get(user_id) if user_id is not None else -1
    hist = OneHistory.of(model.items_, history)
    if model.is_cold_one(uidx, hist):
        return None
    return float(log_partition(model, model.score_one(uidx, hist)[None, :])[0])


def ranking_scores(model: Recommender, raw: Sequence[float], known: Sequence[bool]) -> list[float]:
    """Personalized-Ranking scores: a softmax over the known input items; unknown ones get 0."""
    x = np.asarray(raw, dtype=np.float64)
    x = np.where(np.asarray(known, dtype=bool), x, -np.inf)
    if not np.isfinite(x).any():
        return [0.0] * len(x)
    return relative(model, x[None, :], log_partition(model, x[None, :]))[0].tolist()
