# SPDX-License-Identifier: Apache-2.0
"""homerec demo: generate → import → train → evaluate → batch on the embedded default store."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from homerec.evaluation.evaluate import EvalResult
from homerec.evaluation.report import write_html
from homerec.models.registry import Registry
from homerec.pipeline.batch import BatchReport, run_batch
from homerec.pipeline.evaluate import run_evaluation
from homerec.pipeline.train import TrainReport, train
from homerec.storage import open_store
from homerec.storage.load import ImportReport, import_folder
from homerec.synth.generate import GenerateSummary, generate


@dataclass
class DemoSummary:
    """Everything the demo did, for the closing printout."""

    folder: Path
    store_url: str
    generated: GenerateSummary
    imported: list[ImportReport]
    trained: TrainReport
    evaluation: EvalResult
    batch: BatchReport
    sample_user: str
    sample: list = field(default_factory=list)
    seconds: float = 0.0


def run_demo(folder: Path, scale: float = 0.1, seed: int = 0, say: Callable[[str], None] = print) -> DemoSummary:
    """Run the whole offline story in `folder` (data/, homerec.db, artifacts/, reports)."""
    started = time.perf_counter()
    folder.mkdir(parents=True, exist_ok=True)
    data_dir = folder / "data"
    say(f"generating data at scale {scale} into {data_dir}")
    gen = generate(data_dir, scale, seed)
    store_url = f"sqlite:///{(folder / 'homerec.db').resolve()}"
    store = open_store(store_url)
    try:
        say(f"importing into {store_url}")
        imported = import_folder(store, data_dir, folder / "rejects")
        registry = Registry(folder / "artifacts")
        say("training the hybrid (blend weights tuned on a validation split)")
        trained = train(store, registry, progress=say)
        say("evaluating every model with the shared protocol")
        evaluation = run_evaluation(data_dir, progress=say)
        write_html(evaluation, folder / "evaluation.html")
        say("batch: top-10 for every user and similar items for every item")
        batch = run_batch(store, registry, folder / "batch.jsonl", similar_items=True)
        history = store.history(sample := _busy_user(store))["item_id"].to_list()
        sample_recs = registry.load().recommend(sample, 5, history=history)
    finally:
        store.close()
    return DemoSummary(folder, store_url, gen, imported, trained, evaluation, batch, sample, sample_recs,
                       time.perf_counter() - started)


def _busy_user(store) -> str:
    """A user with a middling history, to show a personalised list."""
    frame = store.interactions()
    counts = frame.group_by("user_id").len().sort(["len", "user_id"])
    return counts["user_id"][counts.height // 2 + counts.height // 4]
