# SPDX-License-Identifier: Apache-2.0
"""Accuracy with breadth: the region of acceptable top-k lists inside which NDCG is maximised.

A tuned blend (or popularity mix) must not turn into a best-seller list. Its validation lists
must reach

    Coverage@k >= min_coverage_ratio x the reference coverage, and
    no item in more than max_item_share of the users' lists,

and among the settings that do, the one with the highest validation NDCG@k wins. The
reference coverage stands in for "the most accurate tuned peer" of the benchmark, which does
not run during ``homerec train``: it is the validation coverage of the most accurate
*personalised* single model of the same run (the hybrid's best part other than popularity
and trending, measured on the same validation users), so it costs nothing extra. When no
setting meets the constraint, the least violating one wins (see `violation`).
"""

from dataclasses import asdict, dataclass

import numpy as np

from homerec.evaluation.metrics import coverage, max_item_share, top_items_share

DEFAULT_MAX_ITEM_SHARE = 0.2
DEFAULT_MIN_COVERAGE_RATIO = 0.8
CURVE = ((1.0, 0.0), (0.5, 0.4), (0.35, 0.6), (0.2, 0.8), (0.1, 1.0), (0.05, 1.2))
"""(max_item_share, min_coverage_ratio) settings swept for the accuracy/breadth trade-off curve."""


@dataclass(frozen=True)
class Breadth:
    """The breadth constraint (settings ``blend_max_item_share`` and ``blend_min_coverage_ratio``)."""

    max_item_share: float = DEFAULT_MAX_ITEM_SHARE
    """No item may be in more than this share of the validation users' lists (1.0: no limit)."""
    min_coverage_ratio: float = DEFAULT_MIN_COVERAGE_RATIO
    """Coverage@k must reach this multiple of the reference coverage (0: no limit)."""
    cap: bool = True
    """Enforce max_item_share with item prices in the hybrid (`homerec.models.capping`), not by weights alone."""

    def limits(self, reference_coverage: float) -> "Limits":
        """The constraint in absolute terms for one reference coverage."""
        return Limits(self.max_item_share, self.min_coverage_ratio * reference_coverage)


@dataclass(frozen=True)
class Limits:
    """Absolute limits: the largest item share of lists and the smallest coverage."""

    max_item_share: float
    min_coverage: float


@dataclass(frozen=True)
class ListBreadth:
    """How broad a set of top-k lists is."""

    coverage: float
    max_item_share: float
    top_share: float

    @classmethod
    def of(cls, items: np.ndarray, n_items: int) -> "ListBreadth":
        """Breadth of a (users x k) matrix of item indices (-1: no item)."""
        return cls(coverage(items, n_items), max_item_share(items), top_items_share(items))

    def violation(self, limits: Limits) -> float:
        """0 inside the region, else the relative amounts by which the lists miss each limit, summed."""
        over = max(0.0, self.max_item_share - limits.max_item_share) / max(limits.max_item_share, 1e-9)
        under = max(0.0, limits.min_coverage - self.coverage) / max(limits.min_coverage, 1e-9)
        return over + under


def objective_key(ndcg: float, breadth: ListBreadth, limits: Limits | None) -> tuple[float, float]:
    """A sort key: any setting inside the region beats any outside; then NDCG (inside) or less violation."""
    if limits is None:
        return (0.0, ndcg)
    v = breadth.violation(limits)
    return (0.0, ndcg) if v <= 1e-12 else (-v, ndcg)


@dataclass(frozen=True)
class CurvePoint:
    """One point of the trade-off curve: the best blend under one setting, measured on validation."""

    max_item_share: float
    min_coverage_ratio: float
    ndcg: float
    coverage: float
    top_share: float
    item_share: float
    feasible: bool
    weights: dict[str, float]

    def to_json(self) -> dict:
        """Plain JSON types."""
        return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in asdict(self).items()}
