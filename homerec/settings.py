# SPDX-License-Identifier: Apache-2.0
"""Settings: one object from a TOML file and HOMEREC_ environment variables; never built at import."""

import json
import os
import tomllib
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from cronsim import CronSim, CronSimError
from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from homerec.campaigns import DatasetGroup, Serving, parse_arn
from homerec.data.rules import DEFAULT_FUTURE_SKEW_S
from homerec.data.schema import DEFAULT_EVENT_WEIGHTS
from homerec.errors import ConfigError
from homerec.rules.config import PlacementConfig, RuleConfig

CONFIG_ENV = "HOMEREC_CONFIG"
DEFAULT_CONFIG_FILE = "homerec.toml"
CRON_FIELDS = "minute hour day-of-month month day-of-week"


def check_cron(expr: str) -> str:
    """A 5-field cron expression, stripped; ValueError with the reason when cron would not accept it."""
    text = " ".join(expr.split())
    if len(text.split()) != 5:
        raise ValueError(f"bad cron expression {expr!r}: expected 5 fields ({CRON_FIELDS})")
    try:
        CronSim(text, datetime(2000, 1, 1))
    except CronSimError as err:
        raise ValueError(f"bad cron expression {expr!r}: {err} (fields: {CRON_FIELDS})") from None
    return text


CACHE_SCHEMES = ("redis", "rediss", "unix")


def check_cache_url(url: str) -> str:
    """A shared-cache URL, stripped; ValueError unless it is redis://, rediss:// or unix:// (the password hidden)."""
    text = url.strip()
    if urlsplit(text).scheme not in CACHE_SCHEMES:
        raise ValueError(f"malformed cache URL {hide_password(text)!r}: expected redis://HOST:PORT/DB "
                         "(or rediss://… with TLS, unix:///path/redis.sock?db=N)")
    return text


def hide_password(url: str) -> str:
    """The URL with its password replaced by ***."""
    parts = urlsplit(url)
    return url if parts.password is None else url.replace(f":{parts.password}@", ":***@", 1)


class Settings(BaseSettings):
    """Every knob of homerec; environment variables are HOMEREC_<FIELD> (e.g. HOMEREC_STORE_URL)."""

    model_config = SettingsConfigDict(env_prefix="HOMEREC_", extra="forbid")

    store_url: str = "sqlite:///homerec.db"
    artifact_dir: Path = Path("artifacts")
    cache_url: str | None = None
    """The shared cache of serving replicas (redis://HOST:PORT/DB; `--cache`): the batch's lists and the
    change stream. None: each server reads its lists from the store and follows the store's change feed."""
    k: int = Field(10, ge=1, le=500)
    event_weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_EVENT_WEIGHTS))
    max_future_skew_s: int = Field(DEFAULT_FUTURE_SKEW_S, ge=0)
    """How far in the future an event may be dated (import, native events, PutEvents); later ones are refused."""
    batch_chunk: int = Field(2048, ge=1)
    threads: int = Field(2, ge=1)
    # -- recommendation quality (`homerec train`, `homerec evaluate`) --
    blend_max_item_share: float = Field(0.2, gt=0.0, le=1.0)
    """Tuning keeps every product out of more than this share of the validation users' lists (1: no limit)."""
    blend_min_coverage_ratio: float = Field(0.8, ge=0.0)
    """Tuning keeps Coverage@k at least this multiple of the best personalised single model's (0: no limit)."""
    non_product_id_pattern: str = ""
    """Regular expression (searched in the item id) for items never to recommend (postage, fees…)."""
    non_product_categories: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Category values (case-insensitive) of items never to recommend (HOMEREC_NON_PRODUCT_CATEGORIES=Fees,Samples)."""
    non_product_nonpositive_price: bool = False
    """Never recommend items whose price is zero or negative (discount lines, free samples)."""
    non_product_ids: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Item ids never to recommend (e.g. from the suspects `homerec import` lists)."""
    # -- serving (`homerec serve`) --
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    workers: int = Field(1, ge=1)
    api_keys: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Keys accepted in the `x-api-key` header; when set, write and admin routes need one."""
    read_requires_key: bool = False
    """Reads need an `x-api-key` too (the dashboard's data always does when `api_keys` is set)."""
    reload_interval_s: float = Field(2.0, ge=0)
    """How often the server checks the registry's active version (0: never; reload by hand)."""
    catalog_refresh_s: float = Field(5.0, ge=0)
    """How often a server process re-reads items and users (0: only after its own upserts)."""
    max_in_flight: int = Field(256, ge=1)
    """HTTP requests one server process handles at once; more get 503 with Retry-After at once.
    A request counts once its body has arrived (see `read_timeout_s`)."""
    exposure_spool: Path | None = None
    """A folder where serving workers leave exposures for `homerec ship-exposures` to store (set by
    `homerec serve`); without one, each worker writes its exposures to the store itself."""
    read_timeout_s: float = Field(10.0, gt=0, le=600)
    """How long a client may take to send a request's headers, and then its body (else 408)."""
    exploration_weight: float = Field(0.0, ge=0.0, le=1.0)
    """Share of a user's list given to young products with few interactions (Personalize explorationWeight;
    its default is 0.3, homerec's 0 so that lists do not change unless asked; a campaign may set its own)."""
    exploration_item_age_cutoff: float = Field(30.0, gt=0.0, le=36_500.0)
    """Days: products created within this many days of the model's newest training event are young
    (Personalize explorationItemAgeCutOff)."""
    exploration_max_interactions: int = Field(20, ge=1)
    """Young products with fewer events than this are explored."""
    exploration_refresh_s: float = Field(60.0, gt=0.0)
    """How often a server re-reads which products are young and how often they were shown and chosen."""
    account_pooling: Literal["off", "account", "buyer+account"] = "off"
    """What a buyer's list is computed from when the buyer has an ACCOUNT_ID: their own events (off), their
    account's pooled events (account), or their own events counted twice and the account's once (buyer+account)."""
    # -- AWS Personalize compatibility (`homerec/serving/personalize.py`) --
    sigv4_keys: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    """SigV4 access key id → secret (HOMEREC_SIGV4_KEYS="AK:SECRET[,AK:SECRET…]")."""
    campaigns: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    """Personalize ARN (campaign, recommender, dataset) or trackingId → `active` or a model version
    (HOMEREC_CAMPAIGNS="ARN=MODEL[,ARN=MODEL…]"). Empty: any well-formed ARN uses the active model."""
    filters: Annotated[dict[str, str], NoDecode] = Field(default_factory=dict)
    """Filter ARN (or a name for the native `filter_name=`) → Personalize filter expression
    (HOMEREC_FILTERS='{"arn:…:filter/not-bought": "EXCLUDE ItemID WHERE Interactions.EVENT_TYPE IN (\\"purchase\\")"}',
    a JSON object). Expressions are checked at start-up; an unknown filterArn is ResourceNotFoundException."""
    dataset_groups: Annotated[list[DatasetGroup], NoDecode] = Field(default_factory=list)
    """Personalize dataset groups: campaign, recommender, tracker, filter and solution ARNs → store and
    model versions (`homerec.campaigns`; a TOML `[[dataset_groups]]` section, or JSON in
    HOMEREC_DATASET_GROUPS). `campaigns` and `filters` above add to the first group."""
    s3_root: Path | None = None
    """Folder that `s3://BUCKET/KEY` paths of control-plane jobs resolve to (`BUCKET/KEY` beneath it)."""
    s3_endpoint: str | None = None
    """An S3-compatible object store (MinIO, Ceph) that `s3://` paths are read from and written to instead."""
    personalize_unsigned: bool = False
    """Accept unsigned Personalize requests (trusted networks only); signed ones are still verified.
    With `api_keys` set, unsigned writes (PutEvents/PutItems/PutUsers) still need an `x-api-key`."""
    personalize_prefix: str = ""
    """Extra path prefix the Personalize routes are also served under (endpoint_url=http://h:p/prefix)."""
    # -- business rules and placements (`homerec.rules`) --
    rules: Annotated[dict[str, RuleConfig], NoDecode] = Field(default_factory=dict)
    """Named rule sets (`[rules.NAME]`: always-on filters, bounded boosts, a category cap, rotation), which
    placements name; JSON in HOMEREC_RULES."""
    placements: Annotated[dict[str, PlacementConfig], NoDecode] = Field(default_factory=dict)
    """Named placements (`[placements.home]`: model version, rule set, filter, include_seen, k), served at
    `GET /v1/placements/NAME/users/USER` and by recommender ARNs whose entry names them; JSON in HOMEREC_PLACEMENTS."""
    # -- scheduling (`homerec schedule`; cron times are the machine's local time) --
    train_cron: str = "0 3 * * 0"
    """When to retrain and promote (default: Sundays at 03:00)."""
    batch_cron: str = "0 */6 * * *"
    guardrail_cron: str = "*/15 * * * *"
    """When to check the running experiment's guardrail (rolls a significantly worse candidate back)."""
    """When to refresh the recommendation cache with the active model (default: every 6 hours)."""

    @field_validator("api_keys", "non_product_categories", "non_product_ids", mode="before")
    @classmethod
    def _split_keys(cls, value: Any) -> Any:
        """Accept a JSON list or a comma-separated string (HOMEREC_API_KEYS=k1,k2)."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [k.strip() for k in text.split(",") if k.strip()]
        return value


    @field_validator("sigv4_keys", "campaigns", mode="before")
    @classmethod
    def _split_pairs(cls, value: Any, info: Any) -> Any:
        """Accept a JSON object or `K<sep>V[,K<sep>V…]` (`:` for sigv4_keys, `=` for campaigns)."""
        if not isinstance(value, str):
            return value
        text = value.strip()
        if text.startswith("{"):
            return json.loads(text)
        keys_form = info.field_name == "sigv4_keys"
        out: dict[str, str] = {}
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            # Access key ids hold no `:`; ARNs hold `:` but no `=`.
            key, sep, val = part.partition(":") if keys_form else part.rpartition("=")
            if not sep or not key.strip() or not val.strip():
                raise ValueError(f"expected {'ACCESS_KEY:SECRET' if keys_form else 'ARN=MODEL'}, got {part!r}")
            out[key.strip()] = val.strip()
        return out

    @field_validator("dataset_groups", "rules", "placements", mode="before")
    @classmethod
    def _groups_json(cls, value: Any, info: Any) -> Any:
        """HOMEREC_DATASET_GROUPS (a JSON list), HOMEREC_RULES and HOMEREC_PLACEMENTS (JSON objects)."""
        if isinstance(value, str):
            text = value.strip()
            return json.loads(text) if text else ([] if info.field_name == "dataset_groups" else {})
        return value

    @model_validator(mode="after")
    def _known_placements(self) -> "Settings":
        """Placements name configured rule sets; recommenders and campaigns name configured placements."""
        for name, placement in self.placements.items():
            if placement.rules is not None and placement.rules not in self.rules:
                raise ValueError(f"placements.{name}: unknown rule set {placement.rules!r} "
                                 f"(rule sets: {', '.join(sorted(self.rules)) or 'none configured'})")
        for group in self.dataset_groups:
            for arn, serving in (*group.campaigns.items(), *group.recommenders.items()):
                if serving.placement is not None and serving.placement not in self.placements:
                    raise ValueError(f"dataset group {group.name}: {arn} names placement {serving.placement!r}, "
                                     f"which is not configured (placements: {', '.join(sorted(self.placements)) or 'none'})")
        return self

    def personalize_groups(self) -> list[DatasetGroup]:
        """The dataset groups served: the configured ones, the first extended with the flat `campaigns`
        and `filters` maps (ARNs of campaigns and recommenders; any other key is a trackingId);
        without any, one default group of the server's store that accepts every ARN."""
        groups = [g.model_copy(deep=True) for g in self.dataset_groups]
        if not groups:
            region, account = "", ""
            for arn in self.campaigns:
                if arn.startswith("arn:"):
                    region, account, _, _ = parse_arn(arn)
                    break
            groups = [DatasetGroup(arn=f"arn:aws:personalize:{region}:{account}:dataset-group/default")]
        first = groups[0]
        for key, version in self.campaigns.items():
            kind = parse_arn(key)[2] if key.startswith("arn:") else "tracker"
            if kind == "campaign":
                first.campaigns.setdefault(key, Serving(version=version))
            elif kind == "recommender":
                first.recommenders.setdefault(key, Serving(version=version))
            elif kind == "tracker":
                first.event_trackers.append(key)
        for key, expression in self.filters.items():
            if key.startswith("arn:"):
                first.filters.setdefault(key, expression)
        return groups

    @field_validator("filters", mode="before")
    @classmethod
    def _filters_json(cls, value: Any) -> Any:
        """HOMEREC_FILTERS is a JSON object (expressions hold commas and `=`)."""
        if isinstance(value, str):
            text = value.strip()
            if not text:
                return {}
            try:
                return json.loads(text)
            except json.JSONDecodeError as err:
                raise ValueError(f"filters must be a JSON object of ARN → expression: {err}") from None
        return value

    @field_validator("cache_url")
    @classmethod
    def _cache_url(cls, value: str | None) -> str | None:
        """A redis://, rediss:// or unix:// URL; empty means none."""
        if value is None or not value.strip():
            return None
        return check_cache_url(value)

    @field_validator("train_cron", "batch_cron", "guardrail_cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        """A 5-field cron expression (`0 3 * * 0`)."""
        return check_cron(value)

    @field_validator("personalize_prefix")
    @classmethod
    def _norm_prefix(cls, value: str) -> str:
        """'' or '/a/b' (leading slash added, trailing slash dropped)."""
        value = value.strip().strip("/")
        return f"/{value}" if value else ""


def load_settings(config_file: str | Path | None = None, **overrides: object) -> Settings:
    """Settings from (in rising priority) defaults, the TOML file, HOMEREC_ variables, overrides.

    The file is `config_file`, else $HOMEREC_CONFIG, else ./homerec.toml when it exists.
    """
    path = config_file or os.environ.get(CONFIG_ENV)
    if path is None and Path(DEFAULT_CONFIG_FILE).exists():
        path = DEFAULT_CONFIG_FILE
    from_file: dict = {}
    if path is not None:
        try:
            from_file = tomllib.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ConfigError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"config file {path} is not valid TOML: {err}") from None
    try:
        from_env = Settings()
        env_values = {name: getattr(from_env, name) for name in from_env.model_fields_set}
        explicit = {k: v for k, v in overrides.items() if v is not None}
        return Settings.model_validate({**from_file, **env_values, **explicit})
    except ValidationError as err:  # the values are left out: a URL may hold a password
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                             for e in err.errors(include_url=False, include_input=False))
        raise ConfigError(f"bad setting: {problems}") from None
