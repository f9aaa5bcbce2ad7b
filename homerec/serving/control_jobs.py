# SPDX-License-Identifier: Apache-2.0
"""Control-plane jobs over `s3://` paths: batch inference and dataset import, run in the background.

A job's record (its input as Personalize describes it, plus what the runner needs: the model
version, the filter expression) goes to the group's store with `CREATE PENDING`; the runner
(`homerec personalize-job`, `homerec.serving.jobs`) moves it to `CREATE IN_PROGRESS`, then
`ACTIVE` or `CREATE FAILED` with a `failureReason`. `s3://BUCKET/KEY` resolves to
`HOMEREC_S3_ROOT/BUCKET/KEY` or to the object store at `HOMEREC_S3_ENDPOINT`.
"""

from typing import Any

from homerec.campaigns import parse_arn, parse_s3_url
from homerec.data.schema import Resource
from homerec.serving.control_models import active_version
from homerec.serving.control_ops import Params, Plane, exists, need, page, stamps, start, valid_name
from homerec.serving.errors import invalid, not_found

IMPORT_MODES = ("FULL", "INCREMENTAL")


def _s3(path: Any, field: str) -> str:
    try:
        parse_s3_url(path)
    except ValueError:
        raise invalid(f"{field} must be an s3://BUCKET/KEY path, not {path!r:.80}") from None
    return path


def _check_s3(p: Plane) -> None:
    if p.settings.s3_root is None and p.settings.s3_endpoint is None:
        raise invalid("s3:// paths are not configured on this server: set HOMEREC_S3_ROOT (a local folder) or "
                      "HOMEREC_S3_ENDPOINT (an S3-compatible object store)")


def _describe(p: Plane, arn: str, kind: str, keys: tuple[str, ...]) -> dict[str, Any]:
    for g in p.groups:
        row = p.store(g).resource(arn)
        if row is not None and row.kind == kind:
            doc = {k: row.doc[k] for k in keys if row.doc.get(k) is not None}
            doc.update(status=row.status, **stamps(row.created_at, row.updated_at))
            if row.doc.get("failureReason"):
                doc["failureReason"] = row.doc["failureReason"]
            return doc
    raise not_found(f"{kind.replace('-', ' ')} {arn} not found")


def _listed(p: Plane, kind: str, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    return [_describe(p, r.arn, kind, keys) for g in p.groups for r in p.store(g).resources(kind, g.name)]


# -- batch inference ---------------------------------------------------------------------------------
BATCH_KEYS = ("jobName", "batchInferenceJobArn", "filterArn", "solutionVersionArn", "numResults", "jobInput",
              "jobOutput", "roleArn", "batchInferenceJobMode")


def create_batch_inference_job(p: Plane, params: Params) -> dict[str, Any]:
    """CreateBatchInferenceJob: `homerec batch-inference` on the files under jobInput, written under jobOutput."""
    name = valid_name(params, "jobName")
    _check_s3(p)
    source = _s3((need(params, "jobInput").get("s3DataSource") or {}).get("path"), "jobInput.s3DataSource.path")
    target = _s3((need(params, "jobOutput").get("s3DataDestination") or {}).get("path"),
                 "jobOutput.s3DataDestination.path")
    mode = params.get("batchInferenceJobMode") or "BATCH_INFERENCE"
    if mode != "BATCH_INFERENCE":
        raise invalid(f"batchInferenceJobMode {mode} is not supported (BATCH_INFERENCE is)")
    num = params.get("numResults") or 25
    if not isinstance(num, int) or not 1 <= num <= 500:
        raise invalid("numResults must be 1-500")
    group, version = active_version(p, need(params, "solutionVersionArn"))
    expression = None
    if params.get("filterArn"):
        _, expression = p.runtimes.groups.filter(params["filterArn"])
    arn = p.arn(group, "batch-inference-job", name)
    if p.store(group).resource(arn) is not None:
        raise exists(f"batch inference job {arn} already exists")
    start(p, group, arn, Resource.batch_inference_job, {
        "jobName": name, "batchInferenceJobArn": arn, "solutionVersionArn": params["solutionVersionArn"],
        "filterArn": params.get("filterArn"), "numResults": num, "roleArn": params.get("roleArn"),
        "jobInput": {"s3DataSource": {"path": source}}, "jobOutput": {"s3DataDestination": {"path": target}},
        "batchInferenceJobMode": mode, "modelVersion": version, "filterExpression": expression,
    })
    return {"batchInferenceJobArn": arn}


def describe_batch_inference_job(p: Plane, params: Params) -> dict[str, Any]:
    """DescribeBatchInferenceJob."""
    arn = need(params, "batchInferenceJobArn")
    return {"batchInferenceJob": _describe(p, arn, Resource.batch_inference_job, BATCH_KEYS)}


def list_batch_inference_jobs(p: Plane, params: Params) -> dict[str, Any]:
    """ListBatchInferenceJobs."""
    keep = ("batchInferenceJobArn", "jobName", "status", "creationDateTime", "lastUpdatedDateTime", "failureReason",
            "solutionVersionArn", "batchInferenceJobMode")
    rows = [{k: j[k] for k in keep if k in j} for j in _listed(p, Resource.batch_inference_job, BATCH_KEYS)
            if not params.get("solutionVersionArn") or j.get("solutionVersionArn") == params["solutionVersionArn"]]
    return page(rows, params, "batchInferenceJobs")


# -- dataset import ----------------------------------------------------------------------------------
IMPORT_KEYS = ("jobName", "datasetImportJobArn", "datasetArn", "dataSource", "roleArn", "importMode")


def create_dataset_import_job(p: Plane, params: Params) -> dict[str, Any]:
    """CreateDatasetImportJob: `homerec import` of the CSV/Parquet files at dataSource.dataLocation.

    Rows are added (re-importing a file adds nothing twice); `FULL` does not delete what the
    store holds (`homerec delete-user` does, user by user).
    """
    name = valid_name(params, "jobName")
    _check_s3(p)
    location = _s3((need(params, "dataSource") or {}).get("dataLocation"), "dataSource.dataLocation")
    dataset_arn = need(params, "datasetArn")
    _, _, resource, path = parse_arn(dataset_arn)
    kind = path.rpartition("/")[2]
    if resource != "dataset" or kind not in ("INTERACTIONS", "ITEMS", "USERS"):
        raise invalid(f"{dataset_arn} is not an INTERACTIONS, ITEMS or USERS dataset (arn:…:dataset/<group>/<TYPE>)")
    mode = params.get("importMode") or "FULL"
    if mode not in IMPORT_MODES:
        raise invalid(f"importMode must be one of {', '.join(IMPORT_MODES)}")
    group = p.runtimes.groups.dataset(dataset_arn, kind)
    arn = p.arn(group, "dataset-import-job", name)
    if p.store(group).resource(arn) is not None:
        raise exists(f"dataset import job {arn} already exists")
    start(p, group, arn, Resource.dataset_import_job, {
        "jobName": name, "datasetImportJobArn": arn, "datasetArn": dataset_arn, "datasetType": kind,
        "dataSource": {"dataLocation": location}, "roleArn": params.get("roleArn"), "importMode": mode,
    })
    return {"datasetImportJobArn": arn}


def describe_dataset_import_job(p: Plane, params: Params) -> dict[str, Any]:
    """DescribeDatasetImportJob."""
    arn = need(params, "datasetImportJobArn")
    return {"datasetImportJob": _describe(p, arn, Resource.dataset_import_job, IMPORT_KEYS)}


def list_dataset_import_jobs(p: Plane, params: Params) -> dict[str, Any]:
    """ListDatasetImportJobs."""
    keep = ("datasetImportJobArn", "jobName", "status", "creationDateTime", "lastUpdatedDateTime", "failureReason",
            "importMode")
    rows = [{k: j[k] for k in keep if k in j} for j in _listed(p, Resource.dataset_import_job, IMPORT_KEYS)
            if not params.get("datasetArn") or j.get("datasetArn") == params["datasetArn"]]
    return page(rows, params, "datasetImportJobs")


OPERATIONS = {
    "CreateBatchInferenceJob": create_batch_inference_job,
    "DescribeBatchInferenceJob": describe_batch_inference_job,
    "ListBatchInferenceJobs": list_batch_inference_jobs,
    "CreateDatasetImportJob": create_dataset_import_job,
    "DescribeDatasetImportJob": describe_dataset_import_job,
    "ListDatasetImportJobs": list_dataset_import_jobs,
}
