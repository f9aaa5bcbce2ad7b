# SPDX-License-Identifier: Apache-2.0
"""A named placement's request: what its configuration fixes (model version, rules, filter, include_seen, k).

Both adapters build a placement's lists here: the native route
(`GET /v1/placements/{name}/users/{user_id}`) and a Personalize recommender or campaign whose
entry names a placement. A placement with no rules, no filter and the defaults builds the same
`Request` as the plain user route, plus its name, so it is answered the same way (the batch's
list from memory when it holds) and logged as the placement's exposure.
"""

from collections.abc import Mapping

from starlette.exceptions import HTTPException

from homerec.rules.compile import Placement
from homerec.serving.request import USER, Request
from homerec.serving.versions import ACTIVE


def placement_request(placements: Mapping[str, Placement], name: str, user_id: str, k: int, default_k: int) -> Request:
    """The `Request` of placement `name` for a user's list of `k` items (0: the placement's `k`, else `default_k`).

    Raises:
        HTTPException: 404 when no placement of that name is configured.
    """
    placement = placements.get(name)
    if placement is None:
        known = ", ".join(sorted(placements)) or "none configured"
        raise HTTPException(404, f"placement {name[:100]!r} is not configured (placements: {known})")
    return Request(USER, user_id=user_id, k=k or placement.k or default_k, item_filter=placement.item_filter,
                   include_seen=placement.include_seen, rules=placement.rules, placement=placement.name,
                   version=None if placement.version == ACTIVE else placement.version)
