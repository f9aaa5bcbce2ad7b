# SPDX-License-Identifier: Apache-2.0
"""The Personalize events operations: PutEvents, PutItems, PutUsers (and the actions ones, refused).

Nothing an event carries is lost: `properties` (JSON text), `impression`, `metricAttribution`,
the session; an event without an `eventId` gets a fresh one (as Personalize generates one), so
only an explicit eventId deduplicates; events without an `itemId` are kept too. A request
that names both the session and the user moves that session's anonymous events to the user.
A trackingId or dataset ARN that no dataset group lists is accepted into the first group.
"""

import uuid
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request as HttpRequest

from homerec.data.schema import MULTI_VALUE_SEP, Col
from homerec.serving import deps
from homerec.serving import personalize_schemas as ps
from homerec.serving.errors import not_found
from homerec.serving.personalize_wire import metadata, parse_body


def _event(q: ps.PutEvents, e: ps.Event) -> dict[str, Any]:
    return {
        Col.user_id: q.userId or q.sessionId, Col.item_id: e.itemId, Col.event_type: e.eventType,
        "timestamp": int(e.sentAt), Col.event_value: None if e.eventValue is None else float(e.eventValue),
        Col.event_id: e.eventId or uuid.uuid4().hex, Col.recommendation_id: e.recommendationId,
        Col.session_id: q.sessionId, Col.properties: e.properties,
        Col.impression: MULTI_VALUE_SEP.join(e.impression) if e.impression else None,
        Col.attribution: e.metricAttribution.eventAttributionSource if e.metricAttribution else None,
    }


async def put_events(request: HttpRequest, body: bytes) -> dict[str, Any]:
    """PutEvents: interactions of a user (or of an anonymous session: stored under the sessionId)."""
    q: ps.PutEvents = parse_body(ps.PutEvents, body)
    runtimes = deps.runtimes(request)
    writes = runtimes.of(runtimes.groups.tracker(q.trackingId)).writes
    events = [_event(q, e) for e in q.eventList]
    on_items = [e for e in events if e[Col.item_id] is not None]
    without = [e for e in events if e[Col.item_id] is None]
    m = deps.metrics(request)
    if on_items:
        result = await run_in_threadpool(writes.add_events, on_items)
        m.events.inc(result.inserted)
        m.duplicates.inc(result.duplicates)
    if without:
        result = await run_in_threadpool(writes.add_context_events, without)
        m.events.inc(result.inserted)
        m.duplicates.inc(result.duplicates)
    if q.userId is not None and q.userId != q.sessionId:
        await run_in_threadpool(writes.join_session, q.sessionId, q.userId)
    return {}


async def put_items(request: HttpRequest, body: bytes) -> dict[str, Any]:
    """PutItems: item metadata (recommendable at once)."""
    q: ps.PutItems = parse_body(ps.PutItems, body)
    rows = [(item.itemId, metadata(item.properties, "item")) for item in q.items]
    return await _put(request, q.datasetArn, "ITEMS", lambda w: w.upsert_item, rows)


async def put_users(request: HttpRequest, body: bytes) -> dict[str, Any]:
    """PutUsers: user metadata."""
    q: ps.PutUsers = parse_body(ps.PutUsers, body)
    rows = [(user.userId, metadata(user.properties, "user")) for user in q.users]
    return await _put(request, q.datasetArn, "USERS", lambda w: w.upsert_user, rows)


async def _put(request: HttpRequest, dataset_arn: str, kind: str, upsert: Callable[[Any], Callable[[str, dict], int]],
               rows: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    runtimes = deps.runtimes(request)
    write = upsert(runtimes.of(runtimes.groups.dataset(dataset_arn, kind)).writes)
    for entity_id, values in rows:
        await run_in_threadpool(write, entity_id, values)
    return {}


async def put_actions(request: HttpRequest, body: bytes) -> dict[str, Any]:
    """PutActions: there is no Actions dataset to put them in (ResourceNotFoundException, nothing kept)."""
    q: ps.PutActions = parse_body(ps.PutActions, body)
    raise not_found(f"dataset {q.datasetArn}: homerec has no Actions dataset (it keeps items, users and "
                    "interactions: PutItems, PutUsers, PutEvents); the actions were not stored")


async def put_action_interactions(request: HttpRequest, body: bytes) -> dict[str, Any]:
    """PutActionInteractions: no action-interactions dataset either."""
    q: ps.PutActionInteractions = parse_body(ps.PutActionInteractions, body)
    raise not_found(f"event tracker {q.trackingId} has no Action interactions dataset: homerec stores item "
                    "events (PutEvents); the action interactions were not stored")
