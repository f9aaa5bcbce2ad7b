# SPDX-License-Identifier: Apache-2.0
"""The Personalize runtime operations: GetRecommendations, GetPersonalizedRanking, GetActionRecommendations.

Each translates its body into one `Request` for the campaign's dataset group (its runtime,
model version, exclusion default, whether metadata may be asked) and the `Answer` back into
Personalize's shape. Scores are on Personalize's scale, computed below the adapter
(`Request.scale`); promotions and metadata columns are fields of the request as well.
"""

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request as HttpRequest

from homerec.serving import deps, exploration
from homerec.serving import personalize_schemas as ps
from homerec.serving.errors import invalid, not_found
from homerec.serving.groups import Target
from homerec.serving.personalize_wire import bound_filter, load_version, parse_body, predicted_items
from homerec.serving.placements import placement_request
from homerec.serving.request import BASKET, PERSONALIZE, RANK, SIMILAR, USER, Promotion, Request, new_recommendation_id
from homerec.serving.router import answer


async def _target(request: HttpRequest, arn: str, what: str) -> tuple[Target, Any, str | None]:
    """The campaign's target, its group's runtime and the model version it answers with (loaded)."""
    runtimes = deps.runtimes(request)
    target = await run_in_threadpool(runtimes.groups.campaign, arn, what)
    runtime = runtimes.of(target.group)
    return target, runtime, await load_version(runtime.versions, target.serving.version, arn)


def _columns(target: Target, arn: str, columns: dict[str, list[str]] | None, n: int) -> tuple[str, ...]:
    """The item columns asked for, checked against the campaign's setting and Personalize's limits."""
    if not columns:
        return ()
    if not target.serving.metadata:
        raise invalid(f"{arn} was not created with metadata in recommendations (metadata = false in its configuration)")
    unknown = [k for k in columns if k != "ITEMS"]
    if unknown:
        raise invalid(f"metadataColumns: only the ITEMS dataset has metadata to return, not {', '.join(unknown)}")
    if n > ps.MAX_RESULTS_WITH_METADATA:
        raise invalid(f"with metadataColumns at most {ps.MAX_RESULTS_WITH_METADATA} items can be asked for, not {n}")
    return tuple(dict.fromkeys(columns["ITEMS"]))


async def _promotion(request: HttpRequest, promotions: list[ps.Promotion] | None) -> Promotion | None:
    if not promotions:
        return None
    p = promotions[0]
    if p.name is None or p.percentPromotedItems is None:
        raise invalid("a promotion needs a name and percentPromotedItems")
    item_filter = await bound_filter(deps.runtimes(request).groups, p.filterArn, p.filterValues)
    return Promotion(p.name, p.percentPromotedItems, item_filter)


async def get_recommendations(request: HttpRequest, body: bytes) -> dict[str, Any]:
    """GetRecommendations: a user's list (userId), related items (itemId), or a frequently-bought-together
    recommender's complements of itemId (the basket model, `homerec.serving.baskets`)."""
    q: ps.GetRecommendations = parse_body(ps.GetRecommendations, body)
    if (q.campaignArn is None) == (q.recommenderArn is None):
        raise invalid("give exactly one of campaignArn and recommenderArn")
    arn = q.campaignArn or q.recommenderArn or ""
    target, runtime, version = await _target(request, arn, "campaign" if q.campaignArn else "recommender")
    if q.userId is None and q.itemId is None:
        raise invalid("give userId (user recommendations) or itemId (related items)")
    columns = _columns(target, arn, q.metadataColumns, q.numResults)
    item_filter = await bound_filter(deps.runtimes(request).groups, q.filterArn, q.filterValues)
    promotion = await _promotion(request, q.promotions)
    if q.numResults == 0:  # nothing to list: Personalize answers an empty list
        return {"itemList": [], "recommendationId": new_recommendation_id()}
    common = {"k": q.numResults, "item_filter": item_filter, "version": version, "context": q.context or {},
              "scale": PERSONALIZE, "metadata_columns": columns, "promotion": promotion,
              "include_seen": target.serving.exclude == "none"}
    if target.serving.basket:  # "frequently bought together": the item is the cart
        if q.itemId is None:
            raise invalid(f"{arn} is a frequently-bought-together recommender: give itemId (and userId if known)")
        req = Request(BASKET, item_ids=(q.itemId,), user_id=q.userId, **common)
        endpoint = "personalize_basket"
    elif q.itemId is not None:
        req = Request(SIMILAR, item_id=q.itemId, user_id=q.userId, unknown_item="popular", **common)
        endpoint = "personalize_similar"
    elif target.serving.placement is not None:  # the placement's rules, filter and model; the request's filter wins
        placed = placement_request(runtime.placements, target.serving.placement, q.userId or "", q.numResults, 0)
        req = Request(USER, user_id=q.userId, **{**common, "include_seen": placed.include_seen,
                                                 "item_filter": item_filter or placed.item_filter,
                                                 "version": placed.version or version},
                      rules=placed.rules, placement=placed.placement)
        endpoint = "personalize_recommendations"
    else:
        settings = deps.settings(request)
        req = Request(USER, user_id=q.userId, exploration=exploration.for_campaign(target.serving, settings),
                      account_pooling=settings.account_pooling, **common)
        endpoint = "personalize_recommendations"
    found = await answer(runtime.router, req)
    deps.metrics(request).answered(endpoint, found.source)
    return {"itemList": predicted_items(found), "recommendationId": found.recommendation_id}


async def get_personalized_ranking(request: HttpRequest, body: bytes) -> dict[str, Any]:
    """GetPersonalizedRanking: the input list reordered for the user (unknown items last, score 0)."""
    q: ps.GetPersonalizedRanking = parse_body(ps.GetPersonalizedRanking, body)
    target, runtime, version = await _target(request, q.campaignArn, "campaign")
    columns = _columns(target, q.campaignArn, q.metadataColumns, len(q.inputList))
    item_filter = await bound_filter(deps.runtimes(request).groups, q.filterArn, q.filterValues)
    req = Request(RANK, user_id=q.userId, item_ids=tuple(q.inputList), k=len(q.inputList), item_filter=item_filter,
                  version=version, context=q.context or {}, scale=PERSONALIZE, metadata_columns=columns)
    found = await answer(runtime.router, req)
    deps.metrics(request).answered("personalize_ranking", found.source)
    return {"personalizedRanking": predicted_items(found), "recommendationId": found.recommendation_id}


async def get_action_recommendations(request: HttpRequest, body: bytes) -> dict[str, Any]:
    """GetActionRecommendations: homerec has no PERSONALIZED_ACTIONS recipe, so no campaign serves actions."""
    q: ps.GetActionRecommendations = parse_body(ps.GetActionRecommendations, body)
    if q.campaignArn is None:
        raise invalid("campaignArn is required")
    raise not_found(f"campaign {q.campaignArn} does not serve actions: homerec has no actions dataset and no "
                    "PERSONALIZED_ACTIONS recipe (supported: GetRecommendations, GetPersonalizedRanking)")
