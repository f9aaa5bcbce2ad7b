# SPDX-License-Identifier: Apache-2.0
"""One table from exceptions to answers, used by both adapters (native JSON and the AWS error shape).

| exception                                   | native | AWS status, `__type`                |
|---------------------------------------------|--------|-------------------------------------|
| `ApiError(status, code, message)`           | status | status, code                        |
| `HTTPException` (validation, 4xx of deps)   | status | status, InvalidInputException       |
| `UnknownUser`, `UnknownItem`                | 404    | 404, ResourceNotFoundException      |
| `InputError` (`FilterError`), `ConfigError` | 422    | 400, InvalidInputException          |
| `ValueError` (AWS only: a malformed field)  | 500    | 400, InvalidInputException          |
| `NotReady`, `StoreError`, other HomerecError| 503    | 503, ServiceUnavailable             |
| anything else                               | 500    | 500, InternalFailure                |

A 503's message never names the store, a path or a version: why it happened goes to the log.
"""

import logging
import uuid
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from homerec.errors import ConfigError, HomerecError, InputError, StoreError, UnknownItem, UnknownUser
from homerec.serving.versions import NotReady

log = logging.getLogger(__name__)

INVALID = "InvalidInputException"
NOT_FOUND = "ResourceNotFoundException"
UNAVAILABLE = "ServiceUnavailable"
INTERNAL = "InternalFailure"


class ApiError(HomerecError):
    """An error an adapter answers as it is: HTTP status, AWS error code, message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def invalid(message: str) -> ApiError:
    """400 InvalidInputException."""
    return ApiError(400, INVALID, message)


def not_found(message: str) -> ApiError:
    """404 ResourceNotFoundException."""
    return ApiError(404, NOT_FOUND, message)


@dataclass(frozen=True)
class Failure:
    """How one exception is answered: status, AWS code, message."""

    status: int
    code: str
    message: str


def unavailable(exc: Exception, where: str) -> str:
    """Log why a request could not be served; the answer's message, free of store URLs and paths."""
    log.warning("%s: %s: %s", where, type(exc).__name__, exc)
    if isinstance(exc, NotReady):
        return "no model is loaded yet: run `homerec train` (the server log says more)"
    if isinstance(exc, StoreError):
        return "the store is unavailable (the server log says why)"
    return "the service is unavailable (the server log says why)"


def classify(exc: Exception, where: str, aws: bool = False) -> Failure:
    """The row of the table above for `exc` (`where`: the route, for the log)."""
    if isinstance(exc, ApiError):
        return Failure(exc.status, exc.code, exc.message)
    if isinstance(exc, HTTPException):
        return Failure(exc.status_code, INVALID if exc.status_code < 500 else INTERNAL, str(exc.detail))
    if isinstance(exc, (UnknownUser, UnknownItem)):
        return Failure(404, NOT_FOUND, str(exc))
    if isinstance(exc, (InputError, ConfigError)) or (aws and isinstance(exc, ValueError)):
        return Failure(400 if aws else 422, INVALID, str(exc))
    if isinstance(exc, HomerecError):
        return Failure(503, UNAVAILABLE, unavailable(exc, where))
    log.error("unhandled error on %s", where, exc_info=exc)
    return Failure(500, INTERNAL, "internal error")


def native_response(failure: Failure, headers: dict[str, str] | None = None) -> Response:
    """`{"error": message}` with the failure's status."""
    if failure.status in (204, 304):
        return Response(status_code=failure.status, headers=headers)
    return JSONResponse({"error": failure.message}, status_code=failure.status, headers=headers)


def aws_response(failure: Failure, request_id: str | None = None) -> Response:
    """`{"__type", "message"}` with `x-amzn-ErrorType` and `x-amzn-RequestId`, as botocore parses them."""
    headers = {"x-amzn-RequestId": request_id or str(uuid.uuid4()), "x-amzn-ErrorType": failure.code}
    return JSONResponse({"__type": failure.code, "message": failure.message}, status_code=failure.status,
                        headers=headers)
