# SPDX-License-Identifier: Apache-2.0
"""Hyper-parameter grids searched on the validation split (cheap ones always, the rest with --tune)."""

GRIDS: dict[str, list[dict]] = {
    "trending": [{"half_life_days": d} for d in (3.0, 7.0, 14.0, 30.0, 60.0, 120.0)]
    + [{"half_life_days": 0.0, "window_days": w} for w in (7.0, 14.0, 30.0, 60.0, 90.0)],
    "als": [
        {"factors": 64, "regularization": r, "alpha": a}
        for r in (0.1, 1.0, 10.0)
        for a in (2.0, 10.0, 40.0)
    ],
    "ease": [{"regularization": r} for r in (50.0, 200.0, 500.0, 2000.0)],
    "item_knn": [
        {"similarity": s, "k_neighbors": k} for s in ("cosine", "bm25", "rp3beta") for k in (50, 200)
    ],
    "user_knn": [{"k_neighbors": k} for k in (25, 100, 300)],
    "content": [{"popularity_weight": w} for w in (0.0, 0.5, 1.0)],
}
CHEAP = ("trending",)
"""Parts tuned even without --tune: their fit is a bincount."""
