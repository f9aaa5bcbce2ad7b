# SPDX-License-Identifier: Apache-2.0
"""The control-plane operations: Personalize's resources as homerec's dataset groups, registry and jobs.

How the resources map (`homerec.campaigns` configures them):

- dataset group: a configured group (zero config: one, `default`, that every ARN names);
  datasets: its `INTERACTIONS`, `ITEMS` and `USERS`; event trackers: its trackingIds.
- solution: a configured solution (default: one named after the group); solution versions:
  the group's registry versions (`<solution ARN>/v3`) and those CreateSolutionVersion trains
  (`<solution ARN>/<id>`, a `homerec train --no-activate` in the background).
- campaign: serves a registry version; UpdateCampaign promotes the version for a campaign on
  `active` (the registry's active version: every replica follows) or pins it otherwise.
- filter: configured, or created with CreateFilter (stored, usable at once).
- batch inference and dataset import jobs: `homerec batch-inference` / `homerec import` in
  the background over `s3://` paths (`HOMEREC_S3_ROOT` or `HOMEREC_S3_ENDPOINT`).

Records of what was created live in the group's store (`Store.put_resource`).
"""

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homerec.campaigns import DATASET_TYPES, DatasetGroup, parse_arn
from homerec.errors import HomerecError, InputError
from homerec.filters import parse as parse_filter
from homerec.models.registry import Registry
from homerec.serving.errors import ApiError, invalid, not_found
from homerec.serving.group_runtimes import GroupRuntimes
from homerec.serving.jobs import start_job
from homerec.settings import Settings
from homerec.storage.base import Store

ACTIVE, PENDING = "ACTIVE", "CREATE PENDING"
NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9\-_]{0,62}$")
Params = dict[str, Any]


def exists(message: str) -> ApiError:
    """400 ResourceAlreadyExistsException."""
    return ApiError(400, "ResourceAlreadyExistsException", message)


@dataclass
class Plane:
    """What the operations reach: settings, the dataset groups, each group's store and registry."""

    settings: Settings
    runtimes: GroupRuntimes

    @property
    def groups(self) -> list[DatasetGroup]:
        """The dataset groups."""
        return self.runtimes.groups.groups

    def store(self, group: DatasetGroup) -> Store:
        """The group's store."""
        return self.runtimes.of(group).store

    def registry(self, group: DatasetGroup) -> Registry:
        """The group's model registry."""
        return self.runtimes.of(group).versions.registry

    def arn(self, group: DatasetGroup, kind: str, name: str) -> str:
        """The ARN of a resource of the group's region and account."""
        region, account, _, _ = parse_arn(group.arn)
        return f"arn:aws:personalize:{region}:{account}:{kind}/{name}"

    def solutions(self, group: DatasetGroup) -> dict[str, Any]:
        """The group's solutions (configured, or one named after the group)."""
        from homerec.campaigns import Solution

        return dict(group.solutions) or {self.arn(group, "solution", group.name): Solution()}


def need(params: Params, name: str) -> Any:
    value = params.get(name)
    if value is None or value == "":
        raise invalid(f"{name} is required")
    return value


def valid_name(params: Params, field: str = "name") -> str:
    name = need(params, field)
    if not isinstance(name, str) or not NAME.match(name):
        raise invalid(f"{field} must be 1-63 letters, digits, - or _ (starting with a letter or digit)")
    return name


def page(items: list[dict[str, Any]], params: Params, key: str) -> dict[str, Any]:
    """One page of a list (`maxResults` 1-100, `nextToken` an offset this server gave)."""
    size = params.get("maxResults") or 100
    token = params.get("nextToken") or "0"
    if not isinstance(size, int) or not 1 <= size <= 100 or not str(token).isdigit():
        raise invalid("maxResults must be 1-100 and nextToken one this server gave")
    start = int(token)
    page: dict[str, Any] = {key: items[start : start + size]}
    if start + size < len(items):
        page["nextToken"] = str(start + size)
    return page


def stamps(created: float | None = None, updated: float | None = None) -> dict[str, float]:
    now = time.time()
    return {"creationDateTime": created or now, "lastUpdatedDateTime": updated or created or now}


# -- dataset groups, datasets, event trackers, recommenders ---------------------------------------
def list_dataset_groups(p: Plane, params: Params) -> dict[str, Any]:
    """ListDatasetGroups."""
    return page([{"name": g.name, "datasetGroupArn": g.arn, "status": ACTIVE, **stamps()} for g in p.groups],
                 params, "datasetGroups")


def describe_dataset_group(p: Plane, params: Params) -> dict[str, Any]:
    """DescribeDatasetGroup."""
    g = p.runtimes.groups.by_arn(need(params, "datasetGroupArn"))
    return {"datasetGroup": {"name": g.name, "datasetGroupArn": g.arn, "status": ACTIVE, **stamps()}}


def _group_of(p: Plane, params: Params) -> list[DatasetGroup]:
    arn = params.get("datasetGroupArn")
    return [p.runtimes.groups.by_arn(arn)] if arn else p.groups


def _dataset(g: DatasetGroup, kind: str) -> dict[str, Any]:
    return {"name": f"{g.name}-{kind.lower()}", "datasetArn": g.dataset_arn(kind), "datasetGroupArn": g.arn,
            "datasetType": kind, "status": ACTIVE, **stamps()}


def list_datasets(p: Plane, params: Params) -> dict[str, Any]:
    """ListDatasets."""
    rows = [_dataset(g, kind) for g in _group_of(p, params) for kind in DATASET_TYPES]
    return page([{k: v for k, v in r.items() if k != "datasetGroupArn"} for r in rows], params, "datasets")


def describe_dataset(p: Plane, params: Params) -> dict[str, Any]:
    """DescribeDataset."""
    arn = need(params, "datasetArn")
    for g in p.groups:
        for kind in DATASET_TYPES:
            if g.dataset_arn(kind) == arn:
                return {"dataset": _dataset(g, kind)}
    raise not_found(f"dataset {arn} not found (datasets are arn:…:dataset/<group>/INTERACTIONS|ITEMS|USERS)")


def _trackers(p: Plane, groups: list[DatasetGroup]) -> list[dict[str, Any]]:
    out = []
    for g in groups:
        for tracking_id in g.event_trackers:
            out.append({"name": tracking_id, "eventTrackerArn": p.arn(g, "event-tracker", tracking_id),
                        "trackingId": tracking_id, "datasetGroupArn": g.arn, "accountId": parse_arn(g.arn)[1],
                        "status": ACTIVE, **stamps()})
    return out


def list_event_trackers(p: Plane, params: Params) -> dict[str, Any]:
    """ListEventTrackers."""
    keep = ("name", "eventTrackerArn", "status", "creationDateTime", "lastUpdatedDateTime")
    return page([{k: t[k] for k in keep} for t in _trackers(p, _group_of(p, params))], params, "eventTrackers")


def describe_event_tracker(p: Plane, params: Params) -> dict[str, Any]:
    """DescribeEventTracker."""
    arn = need(params, "eventTrackerArn")
    for t in _trackers(p, p.groups):
        if t["eventTrackerArn"] == arn:
            return {"eventTracker": t}
    raise not_found(f"event tracker {arn} not found (dataset_groups.event_trackers)")


def _recommender(p: Plane, g: DatasetGroup, arn: str) -> dict[str, Any]:
    serving = g.recommenders[arn]
    recipe = serving.recipe or "aws-ecomm-recommended-for-you"
    if serving.basket:
        recipe = "aws-ecomm-frequently-bought-together"
    return {"name": parse_arn(arn)[3], "recommenderArn": arn, "datasetGroupArn": g.arn,
            "recipeArn": recipe if recipe.startswith("arn:") else f"arn:aws:personalize:::recipe/{recipe}",
            "status": ACTIVE,
            "recommenderConfig": {"enableMetadataWithRecommendations": serving.metadata}, **stamps()}


def list_recommenders(p: Plane, params: Params) -> dict[str, Any]:
    """ListRecommenders."""
    return page([_recommender(p, g, arn) for g in _group_of(p, params) for arn in g.recommenders],
                 params, "recommenders")


def describe_recommender(p: Plane, params: Params) -> dict[str, Any]:
    """DescribeRecommender."""
    arn = need(params, "recommenderArn")
    target = p.runtimes.groups.campaign(arn, "recommender")
    if not target.listed:
        raise not_found(f"recommender {arn} not found (dataset_groups.recommenders)")
    return {"recommender": _recommender(p, target.group, arn)}


OPERATIONS: dict[str, Callable[[Plane, Params], dict[str, Any]]] = {
    "ListDatasetGroups": list_dataset_groups,
    "DescribeDatasetGroup": describe_dataset_group,
    "ListDatasets": list_datasets,
    "DescribeDataset": describe_dataset,
    "ListEventTrackers": list_event_trackers,
    "DescribeEventTracker": describe_event_tracker,
    "ListRecommenders": list_recommenders,
    "DescribeRecommender": describe_recommender,
}
"""Operation name → function; `control_models` and `control_jobs` add theirs."""


def new_id() -> str:
    """A short id for a created resource."""
    return uuid.uuid4().hex[:12]


def check_expression(expression: Any) -> str:
    """A filter expression that parses; InvalidInputException with the reason otherwise."""
    if not isinstance(expression, str):
        raise invalid("filterExpression must be a string")
    try:
        parse_filter(expression)
    except (InputError, HomerecError) as err:
        raise invalid(f"filterExpression: {err}") from None
    return expression


def start(p: Plane, group: DatasetGroup, arn: str, kind: str, doc: dict[str, Any]) -> None:
    """Store a job's record (`CREATE PENDING`) and start its runner."""
    store = p.store(group)
    store.put_resource(arn, kind, group.name, PENDING, doc)
    runtime = p.runtimes.of(group)
    start_job(p.settings, _store_url(p, group), runtime.versions.registry.root, arn)


def _store_url(p: Plane, group: DatasetGroup) -> str:
    return group.store_url or p.settings.store_url


