# SPDX-License-Identifier: Apache-2.0
"""Control-plane operations on what serves: solutions and their versions, campaigns, filters, metrics.

See `homerec.serving.control_ops` for how Personalize's resources map onto homerec's.
"""

from typing import Any

from homerec.campaigns import DatasetGroup, parse_arn
from homerec.data.schema import Resource
from homerec.errors import HomerecError
from homerec.serving import exploration
from homerec.serving.control_ops import (
    ACTIVE,
    Params,
    Plane,
    check_expression,
    exists,
    need,
    new_id,
    page,
    stamps,
    start,
    valid_name,
)
from homerec.serving.errors import ApiError, invalid, not_found
from homerec.storage.resources import ResourceRow

FULL = "FULL"


# -- solutions and solution versions ---------------------------------------------------------------
def _solution(p: Plane, group: DatasetGroup, arn: str) -> dict[str, Any]:
    solution = p.solutions(group)[arn]
    return {"name": parse_arn(arn)[3], "solutionArn": arn, "recipeArn": solution.recipe, "datasetGroupArn": group.arn,
            "status": ACTIVE, "performHPO": False, "performAutoML": False, **stamps()}


def _solution_arns(p: Plane, params: Params) -> list[tuple[DatasetGroup, str]]:
    groups = [p.runtimes.groups.by_arn(params["datasetGroupArn"])] if params.get("datasetGroupArn") else p.groups
    return [(g, arn) for g in groups for arn in p.solutions(g)]


def list_solutions(p: Plane, params: Params) -> dict[str, Any]:
    """ListSolutions."""
    keep = ("name", "solutionArn", "status", "creationDateTime", "lastUpdatedDateTime", "recipeArn")
    return page([{k: _solution(p, g, a)[k] for k in keep} for g, a in _solution_arns(p, params)], params, "solutions")


def _group_of_solution(p: Plane, arn: str) -> DatasetGroup:
    group, _ = p.runtimes.groups.solution(arn)
    if arn not in p.solutions(group):
        raise not_found(f"solution {arn} not found (solutions of {group.arn}: {', '.join(p.solutions(group))})")
    return group


def describe_solution(p: Plane, params: Params) -> dict[str, Any]:
    """DescribeSolution."""
    arn = need(params, "solutionArn")
    return {"solution": _solution(p, _group_of_solution(p, arn), arn)}


def _versions(p: Plane, group: DatasetGroup, solution_arn: str) -> list[dict[str, Any]]:
    """Every version of a solution: those CreateSolutionVersion made, then (under the first solution) the
    registry's versions trained otherwise."""
    records = p.store(group).resources(Resource.solution_version, group.name)
    out = [_from_record(group, r) for r in records if r.doc.get("solutionArn") == solution_arn]
    if solution_arn == next(iter(p.solutions(group))):
        made = {r.doc.get("modelVersion") for r in records}
        for info in p.registry(group).list_versions():
            if info.version not in made:
                out.append(_from_registry(p, group, solution_arn, info.version, info.meta))
    return sorted(out, key=lambda v: v["creationDateTime"])


def _from_record(group: DatasetGroup, r: ResourceRow) -> dict[str, Any]:
    doc = {"name": r.doc.get("name") or r.arn.rsplit("/", 1)[1], "solutionVersionArn": r.arn,
           "solutionArn": r.doc["solutionArn"], "recipeArn": r.doc.get("recipeArn"), "datasetGroupArn": group.arn,
           "trainingMode": r.doc.get("trainingMode", FULL), "status": r.status,
           **stamps(r.created_at, r.updated_at)}
    if r.doc.get("failureReason"):
        doc["failureReason"] = r.doc["failureReason"]
    return doc


def _from_registry(p: Plane, group: DatasetGroup, solution_arn: str, version: str, meta: dict) -> dict[str, Any]:
    created = float(meta.get("created_at") or 0) or None
    return {"name": version, "solutionVersionArn": f"{solution_arn}/{version}", "solutionArn": solution_arn,
            "recipeArn": p.solutions(group)[solution_arn].recipe, "datasetGroupArn": group.arn, "trainingMode": FULL,
            "status": ACTIVE, "trainingHours": round(float(meta.get("train_seconds") or 0) / 3600, 6),
            **stamps(created)}


def list_solution_versions(p: Plane, params: Params) -> dict[str, Any]:
    """ListSolutionVersions."""
    if params.get("solutionArn"):
        pairs = [(_group_of_solution(p, params["solutionArn"]), params["solutionArn"])]
    else:
        pairs = _solution_arns(p, {})
    keep = ("solutionVersionArn", "status", "trainingMode", "creationDateTime", "lastUpdatedDateTime", "failureReason")
    rows = [{k: v[k] for k in keep if k in v} for g, arn in pairs for v in _versions(p, g, arn)]
    return page(rows, params, "solutionVersions")


def find_version(p: Plane, arn: str) -> tuple[DatasetGroup, str | None, dict[str, Any]]:
    """A solution version's group, its registry version (None until trained) and its description."""
    solution_arn, _, vid = arn.rpartition("/")
    group = _group_of_solution(p, solution_arn)
    row = p.store(group).resource(arn)
    if row is not None and row.kind == Resource.solution_version:
        return group, row.doc.get("modelVersion") if row.status == ACTIVE else None, _from_record(group, row)
    try:
        meta = p.registry(group).info(vid).meta
    except HomerecError:
        raise not_found(f"solution version {arn} not found") from None
    return group, vid, _from_registry(p, group, solution_arn, vid, meta)


def describe_solution_version(p: Plane, params: Params) -> dict[str, Any]:
    """DescribeSolutionVersion."""
    return {"solutionVersion": find_version(p, need(params, "solutionVersionArn"))[2]}


def active_version(p: Plane, arn: str) -> tuple[DatasetGroup, str]:
    """The registry version of a solution version that finished training (ResourceInUseException before)."""
    group, version, described = find_version(p, arn)
    if version is None:
        raise ApiError(400, "ResourceInUseException", f"solution version {arn} is {described['status']}, not ACTIVE")
    return group, version


def create_solution_version(p: Plane, params: Params) -> dict[str, Any]:
    """CreateSolutionVersion: `homerec train --no-activate` in the background (promote with UpdateCampaign)."""
    solution_arn = need(params, "solutionArn")
    group = _group_of_solution(p, solution_arn)
    mode = params.get("trainingMode") or FULL
    if mode != FULL:
        raise invalid(f"trainingMode {mode}: homerec trains FULL versions (new products are served through their "
                      "metadata until then)")
    arn = f"{solution_arn}/{new_id()}"
    solution = p.solutions(group)[solution_arn]
    start(p, group, arn, Resource.solution_version, {
        "solutionArn": solution_arn, "name": params.get("name"), "trainingMode": mode, "models": solution.models,
        "recipeArn": solution.recipe,
    })
    return {"solutionVersionArn": arn}


def get_solution_metrics(p: Plane, params: Params) -> dict[str, Any]:
    """GetSolutionMetrics: the validation NDCG@10 homerec measured when it trained the version (and its parts')."""
    arn = need(params, "solutionVersionArn")
    group, version = active_version(p, arn)
    meta = p.registry(group).info(version).meta
    ndcg = {k: float(v) for k, v in (meta.get("validation_ndcg") or {}).items()}
    metrics = {f"normalized_discounted_cumulative_gain_at_10.{part}": v for part, v in ndcg.items()}
    main = ndcg.get(str(meta.get("model"))) or ndcg.get("hybrid")
    if main is not None:
        metrics["normalized_discounted_cumulative_gain_at_10"] = main
    return {"solutionVersionArn": arn, "metrics": metrics}


# -- campaigns ---------------------------------------------------------------------------------------
def _version_arn(p: Plane, group: DatasetGroup, version: str | None) -> str | None:
    if version is None:
        return None
    for r in p.store(group).resources(Resource.solution_version, group.name):
        if r.doc.get("modelVersion") == version:
            return r.arn
    return f"{next(iter(p.solutions(group)))}/{version}"


def _campaign(p: Plane, arn: str) -> dict[str, Any]:
    target = p.runtimes.groups.campaign(arn, "campaign")
    group, serving = target.group, target.serving
    version = serving.version if serving.version != "active" else p.registry(group).active()
    record = p.store(group).resource(arn)
    when = stamps(record.created_at, record.updated_at) if record is not None else stamps()
    doc: dict[str, Any] = {"name": parse_arn(arn)[3], "campaignArn": arn, "status": ACTIVE,
                           "solutionVersionArn": _version_arn(p, group, version),
                           "campaignConfig": {"enableMetadataWithRecommendations": serving.metadata,
                                              "itemExplorationConfig": exploration.campaign_config(serving, p.settings)},
                           **when}
    if record is not None:
        doc["latestCampaignUpdate"] = {"solutionVersionArn": record.doc.get("solutionVersionArn"), "status": ACTIVE,
                                       **stamps(record.updated_at)}
    return {k: v for k, v in doc.items() if v is not None}


def list_campaigns(p: Plane, params: Params) -> dict[str, Any]:
    """ListCampaigns: the configured campaigns, and those UpdateCampaign switched."""
    arns = [a for g in p.groups for a in g.campaigns]
    arns += [r.arn for g in p.groups for r in p.store(g).resources(Resource.campaign, g.name) if r.arn not in arns]
    keep = ("name", "campaignArn", "status", "creationDateTime", "lastUpdatedDateTime")
    campaigns = [_campaign(p, a) for a in arns]
    if params.get("solutionArn"):
        prefix = params["solutionArn"] + "/"
        campaigns = [c for c in campaigns if str(c.get("solutionVersionArn", "")).startswith(prefix)]
    return page([{k: c[k] for k in keep} for c in campaigns], params, "campaigns")


def describe_campaign(p: Plane, params: Params) -> dict[str, Any]:
    """DescribeCampaign."""
    return {"campaign": _campaign(p, need(params, "campaignArn"))}


def update_campaign(p: Plane, params: Params) -> dict[str, Any]:
    """UpdateCampaign: serve another solution version (a campaign on `active` promotes it: the rollback path too)."""
    arn = need(params, "campaignArn")
    target = p.runtimes.groups.campaign(arn, "campaign")
    version_arn = need(params, "solutionVersionArn")
    group, version = active_version(p, version_arn)
    if group.arn != target.group.arn:
        raise invalid(f"{version_arn} belongs to {group.arn}, not to the campaign's {target.group.arn}")
    runtime = p.runtimes.of(group)
    if target.serving.version == "active":
        runtime.versions.registry.promote(version)
        runtime.follow_registry()  # this replica at once; the others within their reload interval
    p.store(group).put_resource(arn, Resource.campaign, group.name, ACTIVE,
                                {"solutionVersionArn": version_arn, "version": version})
    p.runtimes.groups.forget(arn)
    return {"campaignArn": arn}


# -- filters -----------------------------------------------------------------------------------------
def _filters(p: Plane, groups: list[DatasetGroup]) -> list[dict[str, Any]]:
    out = []
    for g in groups:
        for arn, expression in g.filters.items():
            out.append({"name": parse_arn(arn)[3], "filterArn": arn, "datasetGroupArn": g.arn, "status": ACTIVE,
                        "filterExpression": expression, **stamps()})
        for r in p.store(g).resources(Resource.filter, g.name):
            out.append({"name": r.doc["name"], "filterArn": r.arn, "datasetGroupArn": g.arn, "status": r.status,
                        "filterExpression": r.doc["filterExpression"], **stamps(r.created_at, r.updated_at)})
    return out


def list_filters(p: Plane, params: Params) -> dict[str, Any]:
    """ListFilters."""
    groups = [p.runtimes.groups.by_arn(params["datasetGroupArn"])] if params.get("datasetGroupArn") else p.groups
    return page([{k: v for k, v in f.items() if k != "filterExpression"} for f in _filters(p, groups)],
                 params, "Filters")


def describe_filter(p: Plane, params: Params) -> dict[str, Any]:
    """DescribeFilter."""
    arn = need(params, "filterArn")
    for f in _filters(p, p.groups):
        if f["filterArn"] == arn:
            return {"filter": f}
    raise not_found(f"filter {arn} not found")


def create_filter(p: Plane, params: Params) -> dict[str, Any]:
    """CreateFilter: stored in the group's store, usable at once (every replica reads it through)."""
    name = valid_name(params)
    group = p.runtimes.groups.by_arn(need(params, "datasetGroupArn"))
    expression = check_expression(need(params, "filterExpression"))
    arn = p.arn(group, "filter", name)
    if arn in group.filters or p.store(group).resource(arn) is not None:
        raise exists(f"filter {arn} already exists")
    p.store(group).put_resource(arn, Resource.filter, group.name, ACTIVE,
                                {"name": name, "filterExpression": expression})
    p.runtimes.groups.forget(arn)
    return {"filterArn": arn}


def delete_filter(p: Plane, params: Params) -> dict[str, Any]:
    """DeleteFilter (a filter of the configuration file stays: change the file)."""
    arn = need(params, "filterArn")
    for g in p.groups:
        if arn in g.filters:
            raise ApiError(400, "ResourceInUseException",
                           f"filter {arn} is set in the configuration (dataset_groups.filters): remove it there")
        row = p.store(g).resource(arn)
        if row is not None and row.kind == Resource.filter:
            p.store(g).delete_resource(arn)
            p.runtimes.groups.forget(arn)
            return {}
    raise not_found(f"filter {arn} not found")


OPERATIONS = {
    "ListSolutions": list_solutions,
    "DescribeSolution": describe_solution,
    "ListSolutionVersions": list_solution_versions,
    "DescribeSolutionVersion": describe_solution_version,
    "CreateSolutionVersion": create_solution_version,
    "GetSolutionMetrics": get_solution_metrics,
    "ListCampaigns": list_campaigns,
    "DescribeCampaign": describe_campaign,
    "UpdateCampaign": update_campaign,
    "ListFilters": list_filters,
    "DescribeFilter": describe_filter,
    "CreateFilter": create_filter,
    "DeleteFilter": delete_filter,
}
