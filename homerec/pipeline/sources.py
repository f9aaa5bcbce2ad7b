# SPDX-License-Identifier: Apache-2.0
"""Where `homerec compare` gets each side's lists: a model version, a Personalize batch file, an endpoint.

    model:active | model:v3        a registry version, scored like `homerec batch` (seen items left out)
    file:PATH                      AWS Personalize batch-inference output: JSON lines, or a folder of them
    endpoint:URL#CAMPAIGN_ARN      GetRecommendations through boto3 against a Personalize-compatible server

Every source yields its lists in long form (`LIST_SCHEMA`: one row per recommended item, rank
from 0) and the users it answered for.
"""

import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from homerec.batch.inference import recommend_users
from homerec.data.interactions import Interactions
from homerec.data.schema import Col
from homerec.errors import HomerecError, InputError
from homerec.experiments.source import Source, runtime_client
from homerec.models.base import Recommender
from homerec.models.new_items import with_new_items
from homerec.models.relative import relative
from homerec.models.registry import Registry

Progress = Callable[[str, int, int], None]
"""(task, done, total) callback."""

LIST_SCHEMA = {Col.user_id: pl.String, "rank": pl.Int64, Col.item_id: pl.String, "score": pl.Float64}
BATCH_SCHEMA = {
    "input": pl.Struct({"userId": pl.String}),
    "output": pl.Struct({"recommendedItems": pl.List(pl.String), "scores": pl.List(pl.Float64)}),
    "error": pl.String,
}
FILE_SUFFIXES = (".out", ".jsonl", ".json")
ENDPOINT_WORKERS = 16
ENDPOINT_TIMEOUT_S = 30.0
POPULAR_REASON = "Popular item"
"""The `reason` Personalize (and homerec's server) give an item served by the popularity fallback."""


@dataclass
class Fetched:
    """One side's lists (long form, `LIST_SCHEMA`), the users it answered for, and what to report."""

    lists: pl.DataFrame
    answered: list[str]
    info: dict[str, Any] = field(default_factory=dict)


def check_source(source: Source, registry: Registry) -> str:
    """Fail early on a missing file or an unknown model version; returns a label for the report."""
    if source.kind == "file":
        path = Path(source.target)
        if not path.exists():
            raise InputError(f"file {path} does not exist (source {source})")
        return f"file {path.name}"
    if source.kind == "model":
        version = _version(source, registry)
        return f"homerec {version} ({registry.info(version).meta.get('model', 'model')})"
    return f"endpoint {source.target}"


def _version(source: Source, registry: Registry) -> str:
    version = registry.active() if source.target == "active" else source.target
    if version is None:
        raise InputError(f"no trained model in {registry.root} for {source}: run `homerec train` first")
    try:
        registry.info(version)
    except HomerecError as err:
        raise InputError(f"unknown model version in {source}: {err}") from None
    return version


# -- file: Personalize batch-inference output ----------------------------------------------------
def read_batch_file(path: str | Path, k: int) -> Fetched:
    """Read Personalize batch output (a file, or every *.out/*.jsonl/*.json file of a folder).

    `scores` and `error` may be absent; lines with an error, or without a userId (similar-item
    lines of `homerec batch --similar-items`), answer for no user. The first line of a user wins.
    """
    path = Path(path)
    files = sorted(p for p in path.iterdir() if p.is_file() and p.name.endswith(FILE_SUFFIXES)) if path.is_dir() else [path]
    if not files:
        raise InputError(f"folder {path} holds no batch output files ({', '.join(FILE_SUFFIXES)})")
    frame = pl.concat([_read_lines(f) for f in files])
    users = frame.filter(pl.col("userId").is_not_null())
    failed = pl.col("error").is_not_null() | pl.col("recommendedItems").is_null()
    ok = users.filter(~failed).unique("userId", keep="first", maintain_order=True)
    failed = users.filter(failed)
    if users.height == 0:
        raise InputError(f"{path} holds no Personalize user lines ({{\"input\": {{\"userId\": …}}, \"output\": …}})")
    lists = (
        ok.select(
            pl.col("userId").alias(Col.user_id),
            pl.col("recommendedItems").list.head(k).alias(Col.item_id),
            pl.col("scores").fill_null(pl.lit([], dtype=pl.List(pl.Float64))).alias("score"),
        )
        .with_columns(pl.int_ranges(0, pl.col(Col.item_id).list.len()).alias("rank"))
        .explode([Col.item_id, "rank"])
        .filter(pl.col(Col.item_id).is_not_null())
        .with_columns(pl.col("score").list.get(pl.col("rank"), null_on_oob=True).alias("score"))
        .select(list(LIST_SCHEMA))
        .cast(LIST_SCHEMA)
    )
    first_error = failed["error"].drop_nulls().head(1).to_list()
    info = {"lines": frame.height, "user_lines": users.height, "errors": failed.height,
            "first_error": first_error[0] if first_error else None, "files": len(files)}
    return Fetched(lists, ok["userId"].to_list(), info)


def _read_lines(path: Path) -> pl.DataFrame:
    """userId, recommendedItems, scores and error of every line of one file."""
    try:
        frame = pl.read_ndjson(path, schema=BATCH_SCHEMA)
    except (pl.exceptions.PolarsError, OSError) as err:
        raise InputError(_explain_bad_file(path, err)) from None
    return frame.unnest("input").unnest("output")


def _explain_bad_file(path: Path, err: Exception) -> str:
    """The first line that is not JSON, or polars' reason."""
    with path.open(encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                json.loads(line)
            except json.JSONDecodeError as bad:
                return f"{path} line {n} is not valid JSON: {bad.msg}"
    return f"{path} is not Personalize batch output: {str(err).splitlines()[0]}"


# -- model: a registry version ----------------------------------------------------------------------
def model_lists(
    source: Source, registry: Registry, history: pl.DataFrame, users: Sequence[str], k: int,
    event_weights: dict[str, float] | None = None, chunk: int = 2048, workers: int = 2,
    progress: Progress | None = None, catalog: pl.DataFrame | None = None,
) -> Fetched:
    """Top-k of a model version for `users`, from their `history` events, seen items left out (as batch).

    With the store's `catalog`, products added after training are listed through their metadata,
    as serving and batch do.

    Scores are what `homerec batch --format personalize` writes (Personalize's scale; null for
    users on the popularity fallback).
    """
    tick = progress or (lambda _t, _d, _n: None)
    version = _version(source, registry)
    model = registry.load(version)
    if catalog is not None:
        model = with_new_items(model, catalog)
    data = Interactions.from_frame(history, event_weights, items=model.items_)
    idx, raw, cold, log_z, done = [], [], [], [], 0
    for lists in recommend_users(model, data, users, k, False, chunk, workers, relative=True):
        idx.append(lists.idx)
        raw.append(lists.scores)
        cold.append(lists.cold)
        log_z.append(lists.log_z)
        done += len(lists.keys)
        tick(f"scoring with {version}", done, len(users))
    width = min(k, len(model.items_))
    idx_m = np.vstack(idx) if idx else np.zeros((0, width), np.int64)
    cold_v = np.concatenate(cold) if cold else np.zeros(0, bool)
    scores = personalize_scores(model, np.vstack(raw) if raw else np.zeros(idx_m.shape, np.float32), cold_v,
                                np.concatenate(log_z) if log_z else np.zeros(0))
    rows, ranks = np.nonzero(idx_m >= 0)
    lists = pl.DataFrame({
        Col.user_id: np.asarray(users, dtype=object)[rows], "rank": ranks.astype(np.int64),
        Col.item_id: model.items_.ids[idx_m[rows, ranks]], "score": scores[rows, ranks].astype(np.float64),
    }, schema=LIST_SCHEMA).with_columns(pl.col("score").fill_nan(None))
    info = {"version": version, "model": model.name, "declared_fallback_share": float(cold_v.mean()) if len(cold_v) else None}
    return Fetched(lists, list(users), info)


def personalize_scores(model: Recommender, raw: np.ndarray, cold: np.ndarray, log_z: np.ndarray) -> np.ndarray:
    """Personalize-scale scores of raw top lists, as batch output writes them; NaN (no score) on fallback rows."""
    scores = relative(model, raw, np.where(cold, 0.0, log_z)) if len(raw) else np.zeros(raw.shape)
    return np.where(cold[:, None], np.nan, scores)


# -- endpoint: a live Personalize-compatible server -------------------------------------------------
def endpoint_lists(
    source: Source, users: Sequence[str], k: int, workers: int = ENDPOINT_WORKERS,
    timeout_s: float = ENDPOINT_TIMEOUT_S, progress: Progress | None = None,
) -> Fetched:
    """GetRecommendations(campaignArn, userId, numResults=k) for every user, on a thread pool.

    Credentials come from the environment (boto3's usual chain); with none, requests go
    unsigned, which homerec's server accepts with HOMEREC_PERSONALIZE_UNSIGNED=true. Each call
    times out after `timeout_s`; the first call must succeed, later failures are counted.
    """
    tick = progress or (lambda _t, _d, _n: None)
    users = list(users)
    if not users:
        return Fetched(pl.DataFrame(schema=LIST_SCHEMA), [], {"errors": 0, "signed": None})
    client, signed = runtime_client(source.target, timeout_s, pool=workers, attempts=2)

    def call(user: str) -> list[dict[str, Any]]:
        reply = client.get_recommendations(campaignArn=source.arn, userId=user, numResults=k)
        return reply.get("itemList", [])

    answers: dict[str, list[dict[str, Any]]] = {}
    try:
        answers[users[0]] = call(users[0])
    except Exception as err:  # noqa: BLE001 - every botocore failure becomes one clear message
        raise InputError(f"endpoint {source.target} did not answer GetRecommendations for {source.arn}: {err}") from None
    errors: list[str] = []

    def safe(user: str) -> tuple[str, list[dict[str, Any]] | None]:
        try:
            return user, call(user)
        except Exception as err:  # noqa: BLE001
            errors.append(f"{user}: {err}")
            return user, None

    with ThreadPoolExecutor(workers) as pool:
        for done, (user, items) in enumerate(pool.map(safe, users[1:]), start=2):
            if items is not None:
                answers[user] = items
            if done % 500 == 0 or done == len(users):
                tick("calling the endpoint", done, len(users))
    answered = [u for u in users if u in answers]
    rows = [(u, r, it["itemId"], it.get("score")) for u in answered for r, it in enumerate(answers[u][:k])]
    lists = pl.DataFrame(rows, schema=LIST_SCHEMA, orient="row")
    popular = sum(1 for u in answered if answers[u] and POPULAR_REASON in (answers[u][0].get("reason") or []))
    info = {"errors": len(errors), "first_error": errors[0] if errors else None, "signed": signed,
            "declared_fallback_share": popular / len(answered) if answered else None}
    return Fetched(lists, answered, info)
