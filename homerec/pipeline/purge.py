# SPDX-License-Identifier: Apache-2.0
"""homerec models purge-user: rewrite every kept model version without a deleted user.

`homerec delete-user` removes a user's rows from the store; the model versions trained
before still hold the user's id (in their id map) and what was learned per user (ALS
factors, user-kNN rows). This rewrites each version that knows the user without them: the
id map entry and those rows go, the artifact still loads and serves (the user is then a
stranger, scored from whatever history the store has). Companion parts that keep rows per
user (the segment model's profiles) lose the user's rows the same way. Aggregates learned from everyone
(item popularity, item similarities, score calibration) stay, as the next retrain would
rebuild them without the user anyway.
"""

import time
from dataclasses import dataclass

from homerec.models.registry import Registry


@dataclass(frozen=True)
class PurgeReport:
    """Which versions knew the user (and were rewritten) and which did not."""

    user_id: str
    rewritten: list[str]
    untouched: list[str]


def purge_user(registry: Registry, user_id: str) -> PurgeReport:
    """Rewrite every registered version that knows `user_id` without them."""
    rewritten, untouched = [], []
    for info in registry.list_versions():
        model = registry.load(info.version)
        changed = model.without_users([user_id])
        parts = {}
        for name in registry.parts(info.version):
            part = registry.load_part(name, info.version)
            if hasattr(part, "without_users") and part.without_users([user_id]):
                parts[name] = part
        if not (changed or parts):
            untouched.append(info.version)
            continue
        purged = int(info.meta.get("purged_users", 0)) + 1
        n_users = info.meta.get("n_users")
        registry.rewrite(info.version, model, {
            "purged_users": purged, "purged_at": int(time.time()),
            **({"n_users": int(n_users) - 1} if n_users is not None and changed else {}),
        }, parts)
        rewritten.append(info.version)
    return PurgeReport(user_id, rewritten, untouched)
