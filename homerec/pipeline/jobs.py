# SPDX-License-Identifier: Apache-2.0
"""The scheduled jobs: retrain (promote only on success) and refresh the cache with the active model."""

import os
from collections.abc import Callable, Sequence

from homerec.models.registry import Registry
from homerec.pipeline.batch import run_batch
from homerec.pipeline.experiment_report import check_running_guardrail
from homerec.pipeline.schedule import Job, JobResult, schedule_dir
from homerec.pipeline.quality import breadth_of, rule_of
from homerec.pipeline.train import train
from homerec.settings import Settings
from homerec.storage import open_store

TRAIN, BATCH, GUARDRAIL = "train", "batch", "guardrail"
JOB_NAMES = (TRAIN, BATCH, GUARDRAIL)
BATCH_OUTPUT = "batch.jsonl"
"""The last refresh's lists in the Personalize batch format, beside the run log."""


def train_job(settings: Settings, models: Sequence[str] | None = None,
              say: Callable[[str], None] | None = None) -> Callable[[], JobResult]:
    """Train a new version and promote it; any failure raises before the promotion.

    The version is registered inactive and promoted only once training returned, so a failed
    training (no data, a bad model name, an error mid-fit) leaves the previous version active.
    After the promotion the cache is refreshed at once: cached lists of the old version are
    ignored by the server, which would otherwise score every user live until the next refresh.
    """

    def action() -> JobResult:
        registry = Registry(settings.artifact_dir)
        store = open_store(settings.store_url)
        try:
            report = train(store, registry, models, event_weights=settings.event_weights,
                           activate=False, progress=say, breadth=breadth_of(settings), rule=rule_of(settings))
        finally:
            store.close()
        registry.promote(report.version)
        refreshed = batch_job(settings)()
        return JobResult(report.version, f"{report.model} ({', '.join(report.parts)}) on "
                                         f"{report.n_interactions:,} interactions, promoted; {refreshed.message}")

    return action


def batch_job(settings: Settings) -> Callable[[], JobResult]:
    """Refresh every user's top-k and every item's similar items in the cache with the active model.

    The lists also go to ``<artifact_dir>/schedule/batch.jsonl`` (replaced whole at the end).
    """

    def action() -> JobResult:
        folder = schedule_dir(settings.artifact_dir)
        partial = folder / f".{BATCH_OUTPUT}.partial"
        store = open_store(settings.store_url)
        try:
            report = run_batch(store, Registry(settings.artifact_dir), partial, "personalize", settings.k,
                               similar_items=True, chunk=settings.batch_chunk, workers=settings.threads,
                               event_weights=settings.event_weights)
        finally:
            store.close()
        os.replace(partial, folder / BATCH_OUTPUT)
        return JobResult(report.version, f"{report.n_users:,} users ({report.n_fallback_users:,} on the "
                                         f"fallback) and {report.n_items:,} items cached")

    return action


def scheduled_jobs(settings: Settings, models: Sequence[str] | None = None,
                   say: Callable[[str], None] | None = None) -> list[Job]:
    """The training and cache-refresh jobs on the settings' cron expressions (training first)."""
    return [Job(TRAIN, settings.train_cron, train_job(settings, models, say)),
            Job(BATCH, settings.batch_cron, batch_job(settings)),
            Job(GUARDRAIL, settings.guardrail_cron, guardrail_job(settings))]


def guardrail_job(settings: Settings) -> Callable[[], JobResult]:
    """Report on the running experiment and roll it back when its guardrail metric drops significantly."""

    def action() -> JobResult:
        store = open_store(settings.store_url)
        try:
            return JobResult(None, check_running_guardrail(store))
        finally:
            store.close()

    return action
