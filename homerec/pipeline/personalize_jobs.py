# SPDX-License-Identifier: Apache-2.0
"""Run a control-plane job in the background: `homerec personalize-job ARN`, started by the server.

CreateSolutionVersion, CreateBatchInferenceJob and CreateDatasetImportJob store a record
(`Store.put_resource`, status `CREATE PENDING`) and start this runner as a process of its own,
so the job outlives the request and the server. The runner marks the record `CREATE
IN_PROGRESS`, runs the real command as a subprocess (`homerec train --no-activate`, `homerec
batch-inference`, `homerec import`), copies `s3://` inputs and outputs (`homerec.pipeline.objects`),
and ends with `ACTIVE` (the model version a training registered, the files a batch wrote) or
`CREATE FAILED` with the reason (the end of the command's output). Any replica describes it
from the store.
"""

import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from homerec.data.schema import Resource
from homerec.errors import HomerecError, InputError
from homerec.pipeline.objects import Objects, join
from homerec.settings import Settings
from homerec.storage import open_store
from homerec.storage.base import Store

IN_PROGRESS, ACTIVE, FAILED = "CREATE IN_PROGRESS", "ACTIVE", "CREATE FAILED"
REASON_CHARS = 1000
_REGISTERED = re.compile(r"registered (\S+)")


def cli(*args: str) -> list[str]:
    """The argv of a `homerec` command run by this Python."""
    return [sys.executable, "-m", "homerec.cli.main", *args]


def _run(argv: list[str]) -> str:
    """Run a command; its output, or HomerecError with the end of it."""
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    output = (done.stdout or "") + (done.stderr or "")
    if done.returncode != 0:
        tail = " ".join(output.split())[-REASON_CHARS:]
        raise HomerecError(f"`homerec {argv[3] if len(argv) > 3 else ''}` failed (exit {done.returncode}): {tail}")
    return output


def run_job(settings: Settings, arn: str) -> str:
    """Run the job stored under `arn` to its end; returns its final status."""
    store = open_store(settings.store_url)
    try:
        row = store.resource(arn)
        if row is None:
            raise InputError(f"no job {arn} in {store.url}")
        doc = dict(row.doc)
        store.put_resource(arn, row.kind, row.group, IN_PROGRESS, doc)
        try:
            with tempfile.TemporaryDirectory(prefix="homerec-job-") as tmp:
                doc.update(_work(settings, store, row.kind, doc, Path(tmp)))
            status = ACTIVE
        except Exception as err:  # noqa: BLE001 - whatever went wrong is the job's failure reason
            status, doc["failureReason"] = FAILED, str(err)[-REASON_CHARS:]
        store.put_resource(arn, row.kind, row.group, status, doc)
        return status
    finally:
        store.close()


def _base(settings: Settings) -> list[str]:
    return ["--store", settings.store_url]


def _work(settings: Settings, store: Store, kind: str, doc: dict[str, Any], tmp: Path) -> dict[str, Any]:
    if kind == Resource.solution_version:
        args = ["train", *_base(settings), "--artifacts", str(settings.artifact_dir), "--no-activate"]
        if doc.get("models"):
            args += ["--models", ",".join(doc["models"])]
        found = _REGISTERED.search(_run(cli(*args)))
        if found is None:
            raise HomerecError("homerec train did not say which version it registered")
        return {"modelVersion": found.group(1)}
    objects = Objects(settings)
    if kind == Resource.batch_inference_job:
        inputs = objects.fetch(doc["jobInput"]["s3DataSource"]["path"], tmp / "in")
        args = ["batch-inference", *map(str, inputs), "--out", str(tmp / "out"), *_base(settings),
                "--artifacts", str(settings.artifact_dir), "--version", doc["modelVersion"],
                "--num-results", str(doc.get("numResults") or 25)]
        if doc.get("filterExpression"):
            args += ["--filter", doc["filterExpression"]]
        _run(cli(*args))
        destination = doc["jobOutput"]["s3DataDestination"]["path"]
        written = []
        for path in sorted((tmp / "out").iterdir()):
            objects.put(path, join(destination, path.name))
            written.append(join(destination, path.name))
        return {"outputFiles": written}
    if kind == Resource.dataset_import_job:
        files = objects.fetch(doc["dataSource"]["dataLocation"], tmp / "in")
        option = {"INTERACTIONS": "--interactions", "ITEMS": "--items", "USERS": "--users"}[doc["datasetType"]]
        for path in files:
            _run(cli("import", option, str(path), *_base(settings), "--rejects-dir", str(tmp / "rejects")))
        return {"importedFiles": len(files)}
    raise InputError(f"unknown job kind {kind!r}")
