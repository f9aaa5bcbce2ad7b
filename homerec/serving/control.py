# SPDX-License-Identifier: Apache-2.0
"""The Personalize control plane (`boto3.client("personalize")`): JSON 1.1 over `POST /`.

    POST /   X-Amz-Target: AmazonPersonalize.<Operation>   Content-Type: application/x-amz-json-1.1

Signed with the same SigV4 keys as the runtime (scope service `personalize`). The operations
a migrating pipeline calls (`OPERATIONS`: list and describe the dataset groups,
datasets, solutions, solution versions, campaigns, recommenders, filters and event trackers;
CreateSolutionVersion, UpdateCampaign, CreateFilter/DeleteFilter, CreateBatchInferenceJob,
CreateDatasetImportJob, GetSolutionMetrics) run on a worker thread; any other answers
InvalidInputException naming those supported. Errors have the AWS shape of `errors`.
"""

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request as HttpRequest

from homerec.serving import control_jobs, control_models, control_ops, deps, jsontext
from homerec.serving.errors import ApiError, invalid

CONTENT_TYPE = "application/x-amz-json-1.1"
TARGET_PREFIX = "AmazonPersonalize."
OPERATIONS = {**control_ops.OPERATIONS, **control_models.OPERATIONS, **control_jobs.OPERATIONS}
"""Every supported operation → its function (run on a worker thread)."""


async def dispatch(request: HttpRequest, body: bytes) -> dict[str, Any]:
    """Run the operation `X-Amz-Target` names with the JSON body as its input."""
    target = request.headers.get("x-amz-target", "")
    if not target.startswith(TARGET_PREFIX):
        raise ApiError(400, "UnknownOperationException",
                       f"X-Amz-Target must be {TARGET_PREFIX}<Operation> (the Personalize control plane)")
    name = target[len(TARGET_PREFIX):]
    operation = OPERATIONS.get(name)
    if operation is None:
        raise invalid(f"{name} is not supported by homerec's Personalize control plane; supported: "
                      f"{', '.join(sorted(OPERATIONS))}")
    try:
        params = jsontext.loads(body) if body else {}
    except ValueError as err:
        raise ApiError(400, "SerializationException", f"body is not valid JSON: {err}") from None
    if not isinstance(params, dict):
        raise ApiError(400, "SerializationException", "body must be a JSON object")
    plane = control_ops.Plane(deps.settings(request), deps.runtimes(request))
    return await run_in_threadpool(operation, plane, params)
