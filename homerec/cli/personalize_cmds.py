# SPDX-License-Identifier: Apache-2.0
"""`homerec batch-inference` (Personalize batch-inference files) and the control plane's job runner."""

from pathlib import Path
from typing import Annotated, Optional

import typer

from homerec.cli.common import ArtifactsOpt, ConfigOpt, StoreOpt, console, settings
from homerec.models.registry import Registry
from homerec.storage import open_store


def batch_inference(
    inputs: Annotated[list[Path], typer.Argument(help="Input JSON-lines files ({\"userId\": …} a line)")],
    out: Annotated[Path, typer.Option(help="Folder for the <input name>.out files")],
    version: Annotated[Optional[str], typer.Option(help="Model version (default: the active one)")] = None,
    filter: Annotated[Optional[str], typer.Option(help="A Personalize filter expression (each line's filterValues fill it)")] = None,  # noqa: A002
    num_results: Annotated[int, typer.Option(min=1, max=500, help="Items per line")] = 25,
    store: StoreOpt = None, artifacts: ArtifactsOpt = None, config: ConfigOpt = None,
) -> None:
    """Answer Personalize batch-inference input files as a batch inference job does (user, ranking and related-items lines)."""
    from homerec.pipeline.batch_inference import run_batch_inference

    s = settings(config, store, artifacts)
    st = open_store(s.store_url)
    try:
        report = run_batch_inference(st, Registry(s.artifact_dir), list(inputs), out, version, filter, num_results)
    finally:
        st.close()
    console.print(f"wrote {report.lines:,} lines ({report.errors:,} with an error) with {report.version} to "
                  f"{', '.join(str(p) for p in report.files)}")


def personalize_job(
    arn: Annotated[str, typer.Argument(help="The job's ARN (its record is in the store)")],
    store: StoreOpt = None, artifacts: ArtifactsOpt = None, config: ConfigOpt = None,
) -> None:
    """Run one control-plane job to its end (started by the server for CreateSolutionVersion and the jobs)."""
    from homerec.pipeline.personalize_jobs import run_job

    status = run_job(settings(config, store, artifacts), arn)
    console.print(f"{arn}: {status}")
