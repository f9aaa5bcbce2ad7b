# SPDX-License-Identifier: Apache-2.0
"""Personalize dataset groups: which ARNs an application sends map to which store and model versions.

One TOML section per dataset group (or the same as JSON in `HOMEREC_DATASET_GROUPS`):

    [[dataset_groups]]
    arn = "arn:aws:personalize:eu-west-1:123456789012:dataset-group/shop"
    store_url = "postgresql://homerec@db/shop"     # default: the server's store
    artifact_dir = "/var/lib/homerec/shop"         # default: the server's model registry
    event_trackers = ["0b1c2d3e-4f5a-tracker"]     # PutEvents trackingIds of the group
    [dataset_groups.campaigns."arn:aws:personalize:eu-west-1:123456789012:campaign/shop"]
    version = "active"        # or a registry version ("v3"): pinned
    exclude = "none"          # what is left out unless a filter says: "none" (as Personalize) or "purchased"
    metadata = true           # whether metadataColumns may be asked for
    itemExplorationConfig = { explorationWeight = "0.3", explorationItemAgeCutOff = "30" }  # default: the server's
    [dataset_groups.recommenders."arn:aws:personalize:eu-west-1:123456789012:recommender/for-you"]
    exclude = "purchased"
    placement = "home"        # user lists answered as the `home` placement (its rules and model)
    [dataset_groups.recommenders."arn:aws:personalize:eu-west-1:123456789012:recommender/cart"]
    recipe = "frequently-bought-together"   # itemId (the cart) → the basket model's complements
    [dataset_groups.filters]
    "arn:aws:personalize:eu-west-1:123456789012:filter/bought" = 'INCLUDE ItemID WHERE Interactions.EVENT_TYPE IN ("purchase")'
    [dataset_groups.solutions."arn:aws:personalize:eu-west-1:123456789012:solution/shop"]
    models = ["hybrid"]       # what `homerec train` fits for CreateSolutionVersion

Datasets need no entry: `arn:…:dataset/<group name>/ITEMS|USERS|INTERACTIONS` belong to the group
of that name. What is not listed is never dropped silently: events for an unknown tracker or
dataset go to the first group's store (logged and counted), a campaign, recommender or solution
not listed is served by the active model with the defaults, unless the group lists campaigns:
then an unknown one is ResourceNotFoundException (it answers nothing, so nothing is lost).
"""

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

ARN_PATTERN = re.compile(r"^arn:([a-z\d-]+):personalize:([^:]*):([^:]*):(.+)$")
S3_URL = re.compile(r"^s3://([a-z0-9][a-z0-9.\-]{1,61}[a-z0-9])(/[^\x00-\x1f]*)?$")
"""An `s3://BUCKET[/KEY]` path: a bucket named as S3 allows (no `..` within it: checked apart), a key of printable characters."""
EXCLUDE = ("none", "purchased")
DATASET_TYPES = ("INTERACTIONS", "ITEMS", "USERS")
DEFAULT_GROUP = "default"
FREQUENTLY_BOUGHT_TOGETHER = ("frequently-bought-together", "aws-ecomm-frequently-bought-together")
"""Recipe names (a recipe ARN's last part, or the short form) answered by the basket model."""


def parse_arn(arn: str) -> tuple[str, str, str, str]:
    """(region, account, resource type, resource path) of a Personalize ARN; ValueError otherwise."""
    m = ARN_PATTERN.match(arn)
    if m is None:
        raise ValueError(f"{arn!r} is not a Personalize ARN (arn:aws:personalize:REGION:ACCOUNT:TYPE/NAME)")
    kind, _, path = m.group(4).partition("/")
    return m.group(2), m.group(3), kind, path


def parse_s3_url(url: str) -> tuple[str, str]:
    """(bucket, key) of an `s3://BUCKET/KEY` path; ValueError for anything else (`..` as a bucket or key part too)."""
    m = S3_URL.match(url) if isinstance(url, str) and len(url) <= 1024 else None
    key = (m.group(2) or "").lstrip("/") if m else ""
    if m is None or ".." in m.group(1) or ".." in key.split("/"):
        raise ValueError(f"{url!r} is not an s3://BUCKET/KEY path")
    return m.group(1), key


class ItemExplorationConfig(BaseModel):
    """Personalize `campaignConfig.itemExplorationConfig`: strings, as on the wire ("0.3"), or numbers."""

    model_config = ConfigDict(extra="forbid")

    explorationWeight: float = Field(0.3, ge=0.0, le=1.0)
    """Share of a user's list given to young products with few interactions (0: off)."""
    explorationItemAgeCutOff: float = Field(30.0, gt=0.0, le=36_500.0)
    """Days: how young a product must be to be explored."""

    def wire(self) -> dict[str, str]:
        """The string → string map DescribeCampaign shows."""
        return {"explorationWeight": f"{self.explorationWeight:g}",
                "explorationItemAgeCutOff": f"{self.explorationItemAgeCutOff:g}"}


class Serving(BaseModel):
    """How a campaign or recommender answers."""

    model_config = ConfigDict(extra="forbid")

    version: str = "active"
    """`active` (the registry's active version; UpdateCampaign promotes) or a pinned registry version."""
    exclude: Literal["none", "purchased"] = "none"
    """What is left out of lists unless a filter says otherwise: nothing (Personalize), or the user's own items."""
    metadata: bool = True
    """Whether GetRecommendations/GetPersonalizedRanking may ask for `metadataColumns`."""
    placement: str | None = None
    """A configured placement (`[placements.NAME]`) whose rule set, filter and model answer user lists."""
    itemExplorationConfig: ItemExplorationConfig | None = None
    """Exploration of this campaign's user lists (None: the server's `exploration_weight` and cut-off)."""
    recipe: str | None = None
    """The Personalize recipe it stands for; "frequently bought together" (`FREQUENTLY_BOUGHT_TOGETHER`, short
    or as a recipe ARN) answers GetRecommendations' itemId (and userId) with the basket model's complements."""

    @property
    def basket(self) -> bool:
        """Whether it answers with the basket model (a "frequently bought together" recipe)."""
        return self.recipe is not None and self.recipe.rsplit("/", 1)[-1] in FREQUENTLY_BOUGHT_TOGETHER


class Solution(BaseModel):
    """What CreateSolutionVersion trains."""

    model_config = ConfigDict(extra="forbid")

    models: list[str] = Field(default_factory=list)
    """`homerec train --models` (empty: the default hybrid and its parts)."""
    recipe: str = "arn:aws:personalize:::recipe/aws-user-personalization"


class DatasetGroup(BaseModel):
    """One dataset group: its resources' ARNs, its store and model registry."""

    model_config = ConfigDict(extra="forbid")

    arn: str
    store_url: str | None = None
    artifact_dir: str | None = None
    event_trackers: list[str] = Field(default_factory=list)
    campaigns: dict[str, Serving] = Field(default_factory=dict)
    recommenders: dict[str, Serving] = Field(default_factory=dict)
    filters: dict[str, str] = Field(default_factory=dict)
    solutions: dict[str, Solution] = Field(default_factory=dict)

    @field_validator("arn")
    @classmethod
    def _group_arn(cls, value: str) -> str:
        """An `arn:…:dataset-group/NAME`."""
        _, _, kind, path = parse_arn(value)
        if kind != "dataset-group" or not path or "/" in path:
            raise ValueError(f"{value!r} is not a dataset group ARN (arn:aws:personalize:REGION:ACCOUNT:dataset-group/NAME)")
        return value

    @field_validator("campaigns", "recommenders", mode="before")
    @classmethod
    def _short_form(cls, value: object) -> object:
        """A plain string stands for `{version = "…"}`."""
        if isinstance(value, dict):
            return {k: {"version": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @property
    def name(self) -> str:
        """The group's name (the last part of its ARN)."""
        return parse_arn(self.arn)[3]

    def dataset_arn(self, kind: str) -> str:
        """The ARN of the group's dataset of a type (`ITEMS`, …)."""
        region, account, _, _ = parse_arn(self.arn)
        return f"arn:aws:personalize:{region}:{account}:dataset/{self.name}/{kind}"


def default_group(region: str = "", account: str = "") -> DatasetGroup:
    """The group every ARN belongs to when none is configured: the server's store and registry."""
    return DatasetGroup(arn=f"arn:aws:personalize:{region}:{account}:dataset-group/{DEFAULT_GROUP}")
